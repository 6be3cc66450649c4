"""Task use cases; every mutation stages its event in the same transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import NotFound, PreconditionFailed
from app.events.models import TaskEvent, TaskEventType, TaskSnapshot
from app.events.outbox import record_event
from app.models.enums import TaskStatus
from app.models.task import Task, TaskCreate, TaskPublic, TaskUpdate
from app.quotas import Quotas
from app.services import tags as tag_service
from app.services.quota_checks import check_tasks, read_owner, tasks_added
from app.services.tags import set_task_tags, tags_by_task


def etag(task: Task) -> str:
    return f'"{task.id.hex}.{task.version}"'


def check_if_match(task: Task, if_match: str | None) -> None:
    """412 unless If-Match is absent, `*`, or names the task's current version."""
    if if_match is None:
        return
    candidates = [c.strip().removeprefix("W/") for c in if_match.split(",")]
    if "*" in candidates or etag(task) in candidates:
        return
    raise PreconditionFailed(
        f"The task changed since you read it (now version {task.version}); "
        "fetch it again and retry with its new ETag.",
        headers={"ETag": etag(task)},
    )


def get_task(
    session: Session, owner_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool = False
) -> Task:
    query = select(Task).where(Task.id == task_id, Task.owner_id == owner_id)
    if lock:
        query = query.with_for_update()
    task = session.exec(query).first()
    if task is None:
        raise NotFound(f"No task {task_id}.")
    return task


def lock(session: Session, task: Task) -> Task:
    """Re-read the task under a row lock (PostgreSQL) before a read-check-write."""
    session.refresh(task, with_for_update=True)
    return task


def to_public(task: Task, tags: list[str]) -> TaskPublic:
    return TaskPublic(
        id=task.id,
        title=task.title,
        description=task.description,
        status=TaskStatus(task.status),
        priority=task.priority,
        tags=tags,
        due_at=task.due_at,
        reminders=list(task.reminders),
        series_id=task.series_id,
        occurrence_at=task.occurrence_at,
        completed_at=task.completed_at,
        created_at=task.created_at,
        updated_at=task.updated_at,
        version=task.version,
    )


def public_task(session: Session, task: Task) -> TaskPublic:
    return to_public(task, tags_by_task(session, [task.id]).get(task.id, []))


def _emit(
    session: Session,
    task: Task,
    event_type: TaskEventType,
    changes: list[str] | None = None,
    *,
    tags: list[str] | None = None,
) -> None:
    if tags is None:
        tags = tags_by_task(session, [task.id]).get(task.id, [])
    snapshot = TaskSnapshot(
        id=task.id,
        title=task.title,
        status=TaskStatus(task.status).value,
        priority=task.priority.value,
        tags=tags,
        due_at=task.due_at,
        reminders=list(task.reminders),
        series_id=task.series_id,
        occurrence_at=task.occurrence_at,
        completed_at=task.completed_at,
        version=task.version,
    )
    record_event(
        session,
        TaskEvent(
            event_type=event_type,
            task_id=task.id,
            owner_id=task.owner_id,
            occurred_at=utcnow(),
            changes=changes or [],
            task=snapshot,
        ),
    )


def create_task(
    session: Session,
    *,
    owner_id: uuid.UUID,
    data: TaskCreate,
    series_id: uuid.UUID | None = None,
    occurrence_at: datetime | None = None,
    quotas: Quotas | None = None,
) -> Task:
    quotas = quotas or Quotas()
    check_tasks(session, owner_id, quotas)
    now = utcnow()
    task = Task(
        owner_id=owner_id,
        title=data.title,
        description=data.description,
        status=data.status.value,
        priority_rank=data.priority.rank,
        due_at=data.due_at,
        reminders=list(data.reminders),
        series_id=series_id,
        occurrence_at=occurrence_at,
        completed_at=now if data.status is TaskStatus.done else None,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()
    set_task_tags(session, owner_id, task.id, data.tags, new=True, quotas=quotas)
    _emit(session, task, "task.created", tags=sorted(data.tags))
    tasks_added(session, owner_id)
    return task


def _transition_event(before: str, after: str) -> TaskEventType:
    if before != TaskStatus.done and after == TaskStatus.done:
        return "task.completed"
    if before == TaskStatus.done and after != TaskStatus.done:
        return "task.reopened"
    return "task.updated"


def update_task(session: Session, *, task: Task, data: TaskUpdate, quotas: Quotas | None) -> Task:
    """Apply a partial update; `quotas` bound the tags it may add (None: it changes no tags)."""
    changes = data.model_dump(exclude_unset=True)
    before_status = task.status
    changed: list[str] = []
    for field, value in changes.items():
        if field == "tags":
            current = tags_by_task(session, [task.id]).get(task.id, [])
            if current != value:
                if quotas is None:
                    raise ValueError("changing a task's tags needs the owner's quotas")
                set_task_tags(session, task.owner_id, task.id, value, quotas=quotas)
                changed.append("tags")
            continue
        if field == "priority":
            field, value = "priority_rank", data.priority.rank if data.priority else value
        elif field == "status":
            value = TaskStatus(value).value
        if getattr(task, field) != value:
            setattr(task, field, value)
            changed.append("priority" if field == "priority_rank" else field)
    if not changed:
        return task
    if "status" in changed:
        task.completed_at = utcnow() if task.status == TaskStatus.done else None
    task.updated_at = utcnow()
    task.version += 1
    session.add(task)
    session.flush()
    _emit(session, task, _transition_event(before_status, task.status), changed)
    return task


def set_done(session: Session, *, task: Task, done: bool) -> Task:
    target = TaskStatus.done if done else TaskStatus.todo
    if (task.status == TaskStatus.done) == done:
        return task
    return update_task(session, task=task, data=TaskUpdate(status=target), quotas=None)


def delete_task(session: Session, *, task: Task) -> None:
    read_owner(session, task.owner_id)  # the request's user: no round trip from the API
    _emit(session, task, "task.deleted")
    session.delete(task)
    session.flush()
    tasks_added(session, task.owner_id, -1)


def delete_tag(session: Session, *, owner_id: uuid.UUID, name: str) -> None:
    """Delete a tag; every task that carried it gets a new version and a task.updated event."""
    carriers = tag_service.tagged_task_ids(session, owner_id, name)
    # Lock the tasks first, in id order, as a PATCH of one of them would.
    tasks = session.exec(
        select(Task).where(col(Task.id).in_(carriers)).order_by(col(Task.id)).with_for_update()
    ).all()
    tag_service.delete_tag(session, owner_id, name)
    session.flush()
    remaining = tags_by_task(session, list(carriers))
    now = utcnow()
    for task in tasks:
        task.version += 1
        task.updated_at = now
        session.add(task)
        _emit(session, task, "task.updated", ["tags"], tags=remaining.get(task.id, []))
    session.flush()


def list_public(session: Session, tasks: list[Task]) -> list[TaskPublic]:
    tags = tags_by_task(session, [t.id for t in tasks])
    return [to_public(t, tags.get(t.id, [])) for t in tasks]
