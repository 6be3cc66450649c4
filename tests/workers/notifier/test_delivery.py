"""Due reminders delivered in a batch: the same inbox entries and webhooks, one owner query."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.events.cloudevent import CloudEvent
from app.events.models import ReminderDue
from app.models.notification import Notification
from app.models.webhook import WebhookDelivery
from tests.support.factories import make_user
from workers.notifier.delivery import deliver_reminders


def _due(owner: uuid.UUID, title: str) -> tuple[ReminderDue, CloudEvent]:
    now = utcnow()
    event = ReminderDue(
        reminder_id=uuid.uuid4(), task_id=uuid.uuid4(), owner_id=owner, task_title=title,
        offset="PT0S", due_at=now, remind_at=now, occurred_at=now,
    )  # fmt: skip
    return event, CloudEvent(id=str(uuid.uuid4()), type="reminder.due")


def test_a_batch_reaches_each_owner_s_inbox_and_webhook_with_one_query_for_the_owners(
    engine: Engine,
) -> None:
    hooked = make_user(engine, webhook="https://hooks.example.com/in")
    plain = make_user(engine)
    gone = uuid.uuid4()  # an account deleted since the reminder fired
    due = [_due(hooked, "a"), _due(plain, "b"), _due(gone, "c"), _due(hooked, "d")]
    selects: list[str] = []

    def record(*args: Any) -> None:
        if str(args[2]).startswith("SELECT"):
            selects.append(str(args[2]))

    with Session(engine) as session:
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            deliver_reminders(session, due)
            session.flush()
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        session.commit()
    assert len(selects) == 1, selects
    with Session(engine) as session:
        notes = session.exec(select(Notification).order_by(col(Notification.title))).all()
        hooks = session.exec(select(WebhookDelivery)).all()
    assert [(n.owner_id, n.title) for n in notes] == [
        (hooked, "Reminder: a"),
        (plain, "Reminder: b"),
        (hooked, "Reminder: d"),
    ]
    assert sorted(str(h.source_event_id) for h in hooks) == sorted(
        envelope.id for event, envelope in due if event.owner_id == hooked
    )
