"""Firing due reminders exactly once across replicas."""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app import tracing
from app.db import utcnow
from app.events.models import ReminderDue
from app.events.outbox import record_event
from app.models.events import ScheduledReminder
from workers.notifier.schedule import FIRED, PENDING


def claim_due_reminders(engine: Engine, instance: str, limit: int = 500) -> int:
    """Turn due reminders into reminder.due events.

    The state change and the outbox row commit together, and rows are locked with
    SKIP LOCKED (PostgreSQL) or under SQLite's single writer, so each reminder fires
    once however many notifiers run.
    """
    now = utcnow()
    with Session(engine) as session:
        due = session.exec(
            select(ScheduledReminder)
            .where(ScheduledReminder.state == PENDING, col(ScheduledReminder.remind_at) <= now)
            .order_by(col(ScheduledReminder.remind_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for reminder in due:
            reminder.state, reminder.fired_at, reminder.claimed_by = FIRED, now, instance
            session.add(reminder)
            # The reminder.due event joins the trace of the change that scheduled it.
            with tracing.continued_span(
                "fire reminder", (reminder.traceparent, reminder.tracestate)
            ):
                record_event(
                    session,
                    ReminderDue(
                        reminder_id=reminder.id,
                        task_id=reminder.task_id,
                        owner_id=reminder.owner_id,
                        task_title=reminder.task_title,
                        offset=reminder.offset,
                        due_at=reminder.due_at,
                        remind_at=reminder.remind_at,
                        occurred_at=now,
                    ),
                )
        session.commit()
        return len(due)


# Another replica may hold a due row (SKIP LOCKED): never spin on it faster than this.
SHORTEST_WAIT_SECONDS = 0.05


def seconds_until_next_due(engine: Engine) -> float | None:
    """How long until the earliest pending reminder is due (0 when one is); None if none is."""
    with Session(engine) as session:
        earliest = session.exec(
            select(func.min(col(ScheduledReminder.remind_at))).where(
                ScheduledReminder.state == PENDING
            )
        ).one()
    return None if earliest is None else max(0.0, (earliest - utcnow()).total_seconds())


def wait_for_next_due(engine: Engine, longest: float) -> None:
    """Sleep until the next reminder is due, or `longest` seconds, whichever comes first.

    The claimer then fires a reminder close to its due time without polling often;
    `longest` bounds the wait for reminders scheduled while it sleeps.
    """
    until = seconds_until_next_due(engine)
    wait = longest if until is None else min(longest, until)
    time.sleep(max(SHORTEST_WAIT_SECONDS, wait))
