"""A task's history, read from the outbox, which doubles as the event log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models.events import OutboxEvent
from app.models.task import Task


class HistoryEntry(BaseModel):
    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    changes: list[str]
    task: dict[str, Any]


class TaskHistory(BaseModel):
    task_id: uuid.UUID
    events: list[HistoryEntry]


def task_history(session: Session, owner_id: uuid.UUID, task_id: uuid.UUID) -> TaskHistory:
    rows = session.exec(
        select(OutboxEvent)
        .where(
            OutboxEvent.aggregate_id == task_id,
            OutboxEvent.owner_id == owner_id,
            col(OutboxEvent.event_type).startswith("task."),
        )
        .order_by(col(OutboxEvent.id))
    ).all()
    if not rows:
        # Retention removes events past the history window; the task itself still answers.
        owned = select(Task.id).where(Task.id == task_id, Task.owner_id == owner_id)
        if session.exec(owned).first() is None:
            raise NotFound(f"No task {task_id}.")
    return TaskHistory(
        task_id=task_id,
        events=[
            HistoryEntry(
                event_id=row.event_id,
                event_type=row.event_type,
                occurred_at=row.created_at,
                changes=list(row.payload.get("changes", [])),
                task=dict(row.payload.get("task", {})),
            )
            for row in rows
        ],
    )
