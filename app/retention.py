"""Retention: deletes finished event-plumbing rows past their window, a short batch at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.engine import Engine

from app.db import utcnow
from app.models import (
    DeadLetter,
    IdempotencyRecord,
    InboxEntry,
    Notification,
    OutboxEvent,
    ScheduledReminder,
    WebhookDelivery,
)
from app.settings import Settings

log = logging.getLogger(__name__)

DELETED = Counter("taskstream_retention_deleted_rows_total", "Rows deleted by retention", ["table"])
# The reminder states the notifier is done with (see workers/notifier/schedule.py).
FINISHED_REMINDER_STATES = ("fired", "skipped")


@dataclass(frozen=True)
class Sweep:
    """One kind of expired row: its table, its key, and when a row of it has expired."""

    name: str
    table: sa.Table
    key: tuple[sa.Column[Any], ...]
    expired: Callable[[datetime], sa.ColumnElement[bool]]


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.__table__
    return table


def _older(
    column: sa.Column[Any], window: timedelta
) -> Callable[[datetime], sa.ColumnElement[bool]]:
    return lambda now: column < now - window


def sweeps(settings: Settings) -> list[Sweep]:
    """Every retention rule. Unsent outbox rows, unread notifications, pending reminders and
    pending webhook deliveries match none of them, whatever their age."""

    def days(count: int) -> timedelta:
        return timedelta(days=count)

    outbox, inbox = _table(OutboxEvent), _table(InboxEntry)
    idempotency, dead = _table(IdempotencyRecord), _table(DeadLetter)
    webhook, reminder = _table(WebhookDelivery), _table(ScheduledReminder)
    notification = _table(Notification)
    # Task events are the tasks' history (app/events/history.py); the rest is transport.
    is_history = outbox.c.event_type.startswith("task.")
    transport_sent = _older(outbox.c.published_at, days(settings.outbox_retention_days))
    history_sent = _older(outbox.c.published_at, days(settings.history_retention_days))
    delivered = _older(webhook.c.delivered_at, days(settings.webhook_delivery_retention_days))
    gave_up = _older(webhook.c.gave_up_at, days(settings.webhook_delivery_retention_days))
    reminded = _older(reminder.c.remind_at, days(settings.reminder_retention_days))
    was_due = _older(reminder.c.due_at, days(settings.reminder_retention_days))
    finished = reminder.c.state.in_(FINISHED_REMINDER_STATES)
    return [
        Sweep("outbox", outbox, (outbox.c.id,), lambda now: transport_sent(now) & ~is_history),
        Sweep("history", outbox, (outbox.c.id,), lambda now: history_sent(now) & is_history),
        Sweep(
            "inbox",
            inbox,
            (inbox.c.consumer, inbox.c.event_id),
            _older(inbox.c.processed_at, days(settings.inbox_retention_days)),
        ),
        Sweep(
            "idempotency",
            idempotency,
            (idempotency.c.id,),
            _older(idempotency.c.created_at, timedelta(hours=settings.idempotency_retention_hours)),
        ),
        Sweep(
            "dead_letters",
            dead,
            (dead.c.id,),
            _older(dead.c.created_at, days(settings.dead_letter_retention_days)),
        ),
        Sweep(
            "webhook_deliveries",
            webhook,
            (webhook.c.id,),
            lambda now: delivered(now) | gave_up(now),
        ),
        # Only once the task's due time is past too: a later edit of the task then re-creates
        # the reminder as skipped instead of firing it a second time.
        Sweep(
            "reminders",
            reminder,
            (reminder.c.id,),
            lambda now: finished & reminded(now) & was_due(now),
        ),
        Sweep(
            "read_notifications",
            notification,
            (notification.c.id,),
            _older(notification.c.read_at, days(settings.read_notification_retention_days)),
        ),
    ]


def delete_batch(engine: Engine, sweep: Sweep, now: datetime, limit: int) -> int:
    """Delete at most `limit` expired rows in one short transaction. Rows another replica is
    deleting are skipped (SKIP LOCKED on PostgreSQL; SQLite has a single writer anyway)."""
    chosen = (
        sa.select(*sweep.key)
        .where(sweep.expired(now))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if len(sweep.key) == 1:
        matches = sweep.key[0].in_(chosen.scalar_subquery())
    else:
        matches = sa.tuple_(*sweep.key).in_(chosen)
    with engine.begin() as connection:
        deleted = connection.execute(sa.delete(sweep.table).where(matches)).rowcount
    if deleted:
        DELETED.labels(sweep.name).inc(deleted)
    return deleted


class Retention:
    """Runs every sweep once per round; a process that already runs loops owns it."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.sweeps = sweeps(settings)
        self.batch_size = settings.retention_batch_size
        self.interval_seconds = settings.retention_interval_seconds

    def run_once(self, now: datetime | None = None) -> int:
        """One batch per sweep; returns how many rows went, so a busy caller comes back."""
        at = now or utcnow()
        return sum(delete_batch(self.engine, s, at, self.batch_size) for s in self.sweeps)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:
                log.exception("retention round failed; retrying")
                busy = False
            if not busy:
                stop.wait(self.interval_seconds)
