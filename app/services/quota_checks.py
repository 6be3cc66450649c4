"""Per-user quotas, checked before a row is added; each refusal names its limit."""

from __future__ import annotations

import uuid

from sqlmodel import Session, func, select

from app.errors import QuotaExceeded
from app.models.series import RecurringSeries
from app.models.task import Tag, Task
from app.quotas import Quotas


def _count(
    session: Session, model: type[Task] | type[RecurringSeries] | type[Tag], owner: uuid.UUID
) -> int:
    counted: int = session.exec(
        select(func.count()).select_from(model).where(model.owner_id == owner)
    ).one()
    return counted


def check_tasks(session: Session, owner_id: uuid.UUID, quotas: Quotas) -> None:
    if _count(session, Task, owner_id) >= quotas.tasks_per_user:
        raise QuotaExceeded(
            "tasks_per_user",
            f"You have {quotas.tasks_per_user} tasks, the most one account may keep; "
            "delete some first.",
        )


def check_series(session: Session, owner_id: uuid.UUID, quotas: Quotas) -> None:
    if _count(session, RecurringSeries, owner_id) >= quotas.series_per_user:
        raise QuotaExceeded(
            "series_per_user",
            f"You have {quotas.series_per_user} recurring series, the most one account may "
            "keep; delete some first.",
        )


def check_new_tags(session: Session, owner_id: uuid.UUID, adding: int, quotas: Quotas) -> None:
    if adding and _count(session, Tag, owner_id) + adding > quotas.tags_per_user:
        raise QuotaExceeded(
            "tags_per_user",
            f"An account may have at most {quotas.tags_per_user} tags; reuse or delete some.",
        )
