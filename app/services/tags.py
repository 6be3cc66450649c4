"""Per-user tags: find-or-create by name and attach to tasks."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.errors import NotFound
from app.models.task import Tag, TagPublic, TaskTag
from app.quotas import Quotas
from app.services.quota_checks import check_new_tags


def ensure_tags(
    session: Session, owner_id: uuid.UUID, names: Iterable[str], quotas: Quotas
) -> list[Tag]:
    """The caller's tags with these names, creating the missing ones race-safely."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    found = {
        t.name: t
        for t in session.exec(
            select(Tag).where(Tag.owner_id == owner_id, col(Tag.name).in_(wanted))
        )
    }
    check_new_tags(session, owner_id, len(wanted) - len(found), quotas)
    for name in wanted:
        if name in found:
            continue
        try:
            with session.begin_nested():
                tag = Tag(owner_id=owner_id, name=name)
                session.add(tag)
            found[name] = tag
        except IntegrityError:
            # A concurrent request created it first; use theirs.
            found[name] = session.exec(
                select(Tag).where(Tag.owner_id == owner_id, Tag.name == name)
            ).one()
    return [found[name] for name in wanted]


def set_task_tags(
    session: Session,
    owner_id: uuid.UUID,
    task_id: uuid.UUID,
    names: list[str],
    *,
    new: bool = False,
    quotas: Quotas,
) -> None:
    """Make `names` the task's tags; a task created in this transaction has none to clear."""
    tags = ensure_tags(session, owner_id, names, quotas)
    if not new:
        session.execute(sa.delete(TaskTag).where(col(TaskTag.task_id) == task_id))
    for tag in tags:
        session.add(TaskTag(task_id=task_id, tag_id=tag.id))
    session.flush()


def tags_by_task(session: Session, task_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    if not task_ids:
        return {}
    rows = session.exec(
        select(TaskTag.task_id, Tag.name)
        .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
        .where(col(TaskTag.task_id).in_(task_ids))
    )
    result: dict[uuid.UUID, list[str]] = defaultdict(list)
    for task_id, name in rows:
        result[task_id].append(name)
    return {task_id: sorted(names) for task_id, names in result.items()}


def list_tags(session: Session, owner_id: uuid.UUID) -> list[TagPublic]:
    rows = session.exec(
        select(Tag.name, func.count(col(TaskTag.task_id)))
        .outerjoin(TaskTag, col(TaskTag.tag_id) == col(Tag.id))
        .where(Tag.owner_id == owner_id)
        .group_by(col(Tag.name))
        .order_by(col(Tag.name))
    )
    return [TagPublic(name=name, task_count=count) for name, count in rows]


def create_tag(session: Session, owner_id: uuid.UUID, name: str, quotas: Quotas) -> TagPublic:
    ensure_tags(session, owner_id, [name], quotas)
    count = session.exec(
        select(func.count(col(TaskTag.task_id)))
        .join(Tag, col(Tag.id) == col(TaskTag.tag_id))
        .where(Tag.owner_id == owner_id, Tag.name == name)
    ).one()
    return TagPublic(name=name, task_count=count)


def _find_tag(session: Session, owner_id: uuid.UUID, name: str) -> Tag:
    tag = session.exec(select(Tag).where(Tag.owner_id == owner_id, Tag.name == name)).first()
    if tag is None:
        raise NotFound(f"No tag named {name!r}.")
    return tag


def tagged_task_ids(session: Session, owner_id: uuid.UUID, name: str) -> list[uuid.UUID]:
    """The tasks carrying the caller's tag `name`; NotFound if there is no such tag."""
    tag = _find_tag(session, owner_id, name)
    return list(session.exec(select(TaskTag.task_id).where(TaskTag.tag_id == tag.id)))


def delete_tag(session: Session, owner_id: uuid.UUID, name: str) -> None:
    """Detach and delete the tag; app.services.tasks.delete_tag also versions the tasks."""
    tag = _find_tag(session, owner_id, name)
    session.execute(sa.delete(TaskTag).where(col(TaskTag.tag_id) == tag.id))
    session.delete(tag)
