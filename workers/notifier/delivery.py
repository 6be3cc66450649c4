"""Delivering a due reminder: to the in-app inbox, and queued for the user's webhook."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.events.cloudevent import CloudEvent
from app.events.models import ReminderDue
from app.models.notification import Notification
from app.models.user import User
from app.models.webhook import WebhookDelivery

SIGNATURE_HEADER = "X-Taskstream-Signature"


def deliver_reminder(session: Session, event: ReminderDue, envelope: CloudEvent) -> None:
    _deliver(session, event, envelope, session.get(User, event.owner_id))


def deliver_reminders(session: Session, due: Sequence[tuple[ReminderDue, CloudEvent]]) -> None:
    """`deliver_reminder` for each, with one query for all their owners."""
    if not due:
        return
    owner_ids = {event.owner_id for event, _ in due}
    owners = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(owner_ids)))}
    for event, envelope in due:
        _deliver(session, event, envelope, owners.get(event.owner_id))


def _deliver(session: Session, event: ReminderDue, envelope: CloudEvent, user: User | None) -> None:
    if user is None:
        return  # the account is gone; nothing to notify
    session.add(
        Notification(
            owner_id=event.owner_id,
            task_id=event.task_id,
            kind="reminder",
            title=f"Reminder: {event.task_title}",
            body=f"Due at {event.due_at.isoformat()} (reminder {event.offset} before).",
            source_event_id=envelope.id,
        )
    )
    if user.webhook_url:
        session.add(
            WebhookDelivery(
                owner_id=user.id,
                source_event_id=envelope.id,
                body={"type": "reminder.due", "id": envelope.id, **event.model_dump(mode="json")},
            )
        )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `timestamp.body`, so a captured request cannot be replayed later."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
