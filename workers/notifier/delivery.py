"""Delivering a due reminder: the in-app inbox, and the user's webhook if configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.events.cloudevent import CloudEvent
from app.events.models import ReminderDue
from app.models.notification import Notification
from app.models.user import User
from app.models.webhook import WebhookDelivery

log = logging.getLogger(__name__)

MAX_WEBHOOK_ATTEMPTS = 8
WEBHOOK_LEASE = timedelta(seconds=60)
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


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 2**attempts))


def deliver_webhooks(engine: Engine, client: httpx.Client, limit: int = 20) -> int:
    """Send due webhook calls; a lease keeps other notifiers off them while in flight."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        batch = session.exec(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.delivered_at).is_(None),
                col(WebhookDelivery.gave_up_at).is_(None),
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for delivery in batch:
            delivery.next_attempt_at = now + WEBHOOK_LEASE
            session.add(delivery)
        session.commit()
    for delivery in batch:
        _send(engine, client, delivery)
    return len(batch)


def _send(engine: Engine, client: httpx.Client, delivery: WebhookDelivery) -> None:
    with Session(engine) as session:
        user = session.get(User, delivery.owner_id)
        target = (user.webhook_url, user.webhook_secret) if user else (None, None)
    error: str | None = None
    if target[0] is None or target[1] is None:
        error = "no webhook configured any more"
    else:
        body = json.dumps(delivery.body, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(target[1], timestamp, body),
            "X-Taskstream-Event-Id": delivery.source_event_id,
        }
        try:
            response = client.post(target[0], content=body, headers=headers)
            if response.status_code >= 300:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
    with Session(engine) as session:
        row = session.get(WebhookDelivery, delivery.id)
        if row is None:
            return
        now = utcnow()
        if error is None:
            row.delivered_at = now
        else:
            row.attempts += 1
            row.last_error = error[:2000]
            row.next_attempt_at = now + _backoff(row.attempts)
            if row.attempts >= MAX_WEBHOOK_ATTEMPTS or target[0] is None:
                row.gave_up_at = now
            log.info("webhook delivery %s failed (%s), attempt %d", row.id, error, row.attempts)
        session.add(row)
        session.commit()
