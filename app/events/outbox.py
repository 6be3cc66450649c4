"""Writing events into the outbox inside the caller's transaction."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.events.models import TOPIC_OF, ReminderDue, TaskEvent
from app.events.wakeup import mark_staged
from app.models.events import OutboxEvent


def record_event(session: Session, event: TaskEvent | ReminderDue) -> OutboxEvent:
    """Stage an event; it commits or rolls back together with the change it describes."""
    aggregate_id: uuid.UUID = event.task_id
    row = OutboxEvent(
        topic=TOPIC_OF[type(event)],
        event_type=event.event_type,
        aggregate_id=aggregate_id,
        owner_id=event.owner_id,
        payload=event.model_dump(mode="json"),
    )
    session.add(row)
    mark_staged(session)
    return row
