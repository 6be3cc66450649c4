"""Per-user quotas, checked before a row is added; each refusal names its limit."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, func, select

from app.errors import QuotaExceeded
from app.models.series import RecurringSeries
from app.models.task import Tag
from app.models.user import User
from app.quotas import Quotas

# session.info keys: per owner, the tasks this session added (or removed) since it read the
# owner's row, which that row's task_count does not show; and the rows it read (read_owner).
_UNSEEN = "taskstream_tasks_unseen"
_OWNERS = "taskstream_task_owners"


def _unseen(session: Session) -> dict[uuid.UUID, int]:
    unseen: dict[uuid.UUID, int] = session.info.setdefault(_UNSEEN, {})
    return unseen


def read_owner(session: Session, owner_id: uuid.UUID) -> User | None:
    """The owner's row as this session read it, read now if it has not been.

    Read it before adding or deleting the owner's tasks: on SQLite a later read would
    already show them (its triggers fire at once), and they would be counted twice. The row
    is held so that the session's weak identity map cannot drop it and read it again in
    the middle of the transaction: on PostgreSQL that read would lack the transaction's own
    tasks (its triggers fire at commit) while the notes below were reset.
    """
    user = session.get(User, owner_id)
    if user is not None:
        session.info.setdefault(_OWNERS, {})[owner_id] = user
    return user


def tasks_added(session: Session, owner_id: uuid.UUID, count: int = 1) -> None:
    """Note tasks this session added (negative: deleted), after reading the owner's row.

    user.task_count is kept by triggers (migration 0007). On PostgreSQL they fire at commit,
    so the row never shows the transaction's own tasks; on SQLite at once, but the row read
    before stays as it was. Either way the difference is what was added since the read.
    """
    unseen = _unseen(session)
    unseen[owner_id] = unseen.get(owner_id, 0) + count


@sa.event.listens_for(User, "load")
def _read(user: User, context: Any) -> None:
    _unseen(context.session).pop(user.id, None)


@sa.event.listens_for(User, "refresh")
def _reread(user: User, context: Any, attributes: Any) -> None:
    # Expired by a commit or a rollback: the row read now shows everything committed.
    if attributes is None or "task_count" in attributes:
        _unseen(context.session).pop(user.id, None)


def tasks_held(session: Session, owner_id: uuid.UUID) -> int:
    """How many tasks the owner has, as this transaction sees them, in O(1).

    The API's auth dependency already loaded the user into this session, so this costs no
    round trip there; elsewhere (the recurrer) one read by primary key, once per session.
    """
    user = read_owner(session, owner_id)
    if user is None:
        return 0  # the insert that follows fails on its foreign key
    return user.task_count + _unseen(session).get(owner_id, 0)


def _count(session: Session, model: type[RecurringSeries] | type[Tag], owner: uuid.UUID) -> int:
    # Series and tags are few per owner (their own quotas bound them), so a count is cheap.
    counted: int = session.exec(
        select(func.count()).select_from(model).where(model.owner_id == owner)
    ).one()
    return counted


def check_tasks(session: Session, owner_id: uuid.UUID, quotas: Quotas) -> None:
    """Refuse a task beyond the owner's quota.

    Parallel creates race at the limit: each reads the count before any of them commits,
    so N of them can overshoot it by up to N - 1 on PostgreSQL (the count(*) this replaced
    raced the same way, at READ COMMITTED without a lock). On SQLite none can: a writing
    transaction begins IMMEDIATE (app.db), so the read and the insert share the one write
    lock. Closing it on PostgreSQL would mean locking the user's row for the whole request,
    which serializes a user's creates, or enforcing the limit in the commit-time trigger
    (the limit is a setting, not data, and the refusal would surface at COMMIT): the quota
    bounds abuse, and an overshoot by a few parallel requests does not defeat it.
    """
    if tasks_held(session, owner_id) >= quotas.tasks_per_user:
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
