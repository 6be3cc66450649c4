"""Delivering a due reminder: to the in-app inbox, and queued for the user's webhook."""

from __future__ import annotations

import hashlib
import hmac

from sqlmodel import Session

from app.events.cloudevent import CloudEvent
from app.events.models import ReminderDue
from app.models.notification import Notification
from app.models.user import User
from app.models.webhook import WebhookDelivery

SIGNATURE_HEADER = "X-Taskstream-Signature"


def deliver_reminder(session: Session, event: ReminderDue, envelope: CloudEvent) -> None:
    user = session.get(User, event.owner_id)
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
