"""Reminders: scheduled from task events, fired exactly once, delivered to inbox and webhook."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.contract import REMINDERS, TASK_EVENTS
from app.db import utcnow
from app.events.cloudevent import envelope_of
from app.models.events import OutboxEvent, ScheduledReminder
from app.models.notification import Notification
from app.models.task import TaskCreate, TaskUpdate
from app.models.user import User
from app.models.webhook import WebhookDelivery
from app.services.tasks import create_task, delete_task, get_task, set_done, update_task
from app.settings import Settings
from tests.support.factories import make_task, make_user
from tests.support.receivers import answer, receiving
from tests.support.waiting import wait_until
from workers.notifier.app import build_consumer
from workers.notifier.claims import claim_due_reminders
from workers.notifier.delivery import sign
from workers.notifier.webhook_sender import WebhookSender


def _deliver_pending(engine: Engine, topic: str) -> None:
    """Hand every unpublished outbox row of a topic to the notifier, as the bus would."""
    consumer = build_consumer(engine)
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxEvent)
            .where(OutboxEvent.topic == topic, col(OutboxEvent.published_at).is_(None))
            .order_by(col(OutboxEvent.id))
        ).all()
    for row in rows:
        assert consumer.dispatch(topic, envelope_of(row).model_dump(mode="json")) == "SUCCESS"
        with Session(engine) as session:
            row.published_at = utcnow()
            session.add(row)
            session.commit()


def _reminders(engine: Engine) -> list[ScheduledReminder]:
    with Session(engine) as session:
        return list(
            session.exec(select(ScheduledReminder).order_by(col(ScheduledReminder.remind_at)))
        )


def test_reminders_follow_the_task_through_due_changes_completion_and_deletion(
    engine: Engine,
) -> None:
    owner = make_user(engine)
    due = utcnow() + timedelta(days=2)
    task = make_task(engine, owner, due_at=due, reminders=["P1D", "PT1H"])
    _deliver_pending(engine, TASK_EVENTS.name)
    assert [(r.offset, r.remind_at) for r in _reminders(engine)] == [
        ("P1D", due - timedelta(days=1)),
        ("PT1H", due - timedelta(hours=1)),
    ]
    later = due + timedelta(days=1)
    with Session(engine) as session:
        update_task(
            session,
            task=get_task(session, owner, task.id),
            data=TaskUpdate(due_at=later, reminders=["PT1H"]),
            quotas=None,
        )
        session.commit()
    _deliver_pending(engine, TASK_EVENTS.name)
    assert [(r.offset, r.remind_at) for r in _reminders(engine)] == [
        ("PT1H", later - timedelta(hours=1))
    ]
    with Session(engine) as session:
        set_done(session, task=get_task(session, owner, task.id), done=True)
        session.commit()
    _deliver_pending(engine, TASK_EVENTS.name)
    assert _reminders(engine) == [], "a done task reminds no one"
    with Session(engine) as session:
        set_done(session, task=get_task(session, owner, task.id), done=False)
        session.commit()
    _deliver_pending(engine, TASK_EVENTS.name)
    assert len(_reminders(engine)) == 1
    with Session(engine) as session:
        delete_task(session, task=get_task(session, owner, task.id))
        session.commit()
    _deliver_pending(engine, TASK_EVENTS.name)
    assert _reminders(engine) == []


def test_a_stale_event_does_not_undo_a_newer_one(engine: Engine) -> None:
    owner = make_user(engine)
    task = make_task(engine, owner, due_at=utcnow() + timedelta(days=1), reminders=["PT1H"])
    with Session(engine, expire_on_commit=False) as session:
        created = session.exec(select(OutboxEvent).where(OutboxEvent.aggregate_id == task.id)).one()
        update_task(
            session,
            task=get_task(session, owner, task.id),
            data=TaskUpdate(reminders=["PT2H"]),
            quotas=None,
        )
        session.commit()
    consumer = build_consumer(engine)
    _deliver_pending(engine, TASK_EVENTS.name)
    # The creation event arrives again, late, with a new id (as after a broker replay).
    late = envelope_of(created).model_dump(mode="json") | {"id": str(uuid.uuid4())}
    assert consumer.dispatch(TASK_EVENTS.name, late) == "SUCCESS"
    assert [r.offset for r in _reminders(engine)] == ["PT2H"]


def _due_reminders(engine: Engine, count: int) -> None:
    owner = make_user(engine)
    now = utcnow()
    with Session(engine) as session:
        for i in range(count):
            session.add(
                ScheduledReminder(
                    task_id=uuid.uuid4(),
                    owner_id=owner,
                    offset="PT0S",
                    due_at=now,
                    remind_at=now - timedelta(milliseconds=i),
                    task_title=f"t{i}",
                )
            )
        session.commit()


def test_two_notifiers_claim_each_of_1000_due_reminders_exactly_once(engine: Engine) -> None:
    _due_reminders(engine, 1000)

    def claimer(instance: str) -> None:
        while claim_due_reminders(engine, instance, limit=50):
            pass

    threads = [threading.Thread(target=claimer, args=(f"notifier-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        events = session.exec(select(OutboxEvent).where(OutboxEvent.topic == REMINDERS.name)).all()
        fired = session.exec(
            select(ScheduledReminder).where(ScheduledReminder.state == "fired")
        ).all()
    reminder_ids = [e.payload["reminder_id"] for e in events]
    assert len(reminder_ids) == 1000, f"{1000 - len(reminder_ids)} missed or extra"
    assert len(set(reminder_ids)) == 1000, "a reminder fired twice"
    assert len(fired) == 1000


def test_a_reminder_already_past_due_when_scheduled_is_skipped(engine: Engine) -> None:
    owner = make_user(engine)
    make_task(engine, owner, due_at=datetime(2020, 1, 1, tzinfo=UTC), reminders=["PT1H"])
    _deliver_pending(engine, TASK_EVENTS.name)
    assert [r.state for r in _reminders(engine)] == ["skipped"]
    assert claim_due_reminders(engine, "n") == 0


def test_a_due_reminder_lands_in_the_inbox_once_and_queues_one_signed_webhook(
    engine: Engine,
) -> None:
    owner = make_user(engine, webhook="https://hooks.example.com/in")
    # Far enough ahead that scheduling finishes before it is due on a loaded machine (a
    # reminder already past due when scheduled is skipped), then waited out.
    due = utcnow() + timedelta(seconds=2)
    make_task(engine, owner, due_at=due, reminders=["PT0S"])
    _deliver_pending(engine, TASK_EVENTS.name)
    assert [r.state for r in _reminders(engine)] == ["pending"], "scheduled too late"
    wait_until(lambda: utcnow() > due, timeout=5, what="the reminder to fall due")
    assert claim_due_reminders(engine, "n") == 1
    with Session(engine) as session:
        row = session.exec(select(OutboxEvent).where(OutboxEvent.topic == REMINDERS.name)).one()
    consumer = build_consumer(engine)
    envelope = envelope_of(row).model_dump(mode="json")
    assert [consumer.dispatch(REMINDERS.name, envelope) for _ in range(3)] == ["SUCCESS"] * 3
    with Session(engine) as session:
        notes = session.exec(select(Notification)).all()
        deliveries = session.exec(select(WebhookDelivery)).all()
    assert [n.title for n in notes] == ["Reminder: task"]
    assert len(deliveries) == 1

    outcomes = iter([503, 200])
    with receiving() as receiver:
        receiver.behaviours["/in"] = lambda handler: answer(next(outcomes))(handler)
        with Session(engine) as session:
            user = session.get(User, owner)
            assert user is not None
            user.webhook_url = receiver.url("/in")
            session.add(user)
            session.commit()
        settings = Settings(environment="test", webhook_allow_loopback=True)
        sender = WebhookSender(engine, settings)
        try:
            assert sender.step() == 1
            wait_until(lambda: _attempts(engine) == 1, timeout=20, what="the first attempt")
            with Session(engine) as session:
                pending = session.exec(select(WebhookDelivery)).one()
                assert pending.delivered_at is None, "a 503 counted as delivered"
                pending.next_attempt_at = utcnow()
                session.add(pending)
                session.commit()
            wait_until(lambda: sender.step(), timeout=20, what="the retry to be claimed")
            wait_until(_delivered(engine), timeout=20, what="the retry to be delivered")
        finally:
            sender.close()
    request = receiver.received[-1]
    signature = request.headers["X-Taskstream-Signature"]
    timestamp = signature.split(",")[0].removeprefix("t=")
    assert signature == sign("w" * 20, timestamp, request.body), "the signature does not verify"
    assert json.loads(request.body)["type"] == "reminder.due"


def _attempts(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(WebhookDelivery)).one().attempts


def _delivered(engine: Engine) -> Callable[[], bool]:
    def delivered() -> bool:
        with Session(engine) as session:
            return session.exec(select(WebhookDelivery)).one().delivered_at is not None

    return delivered


def test_a_reminder_before_the_earliest_datetime_is_dropped_not_retried(engine: Engine) -> None:
    # Stored before due times were range-checked: due - P1D is before year 1.
    owner = make_user(engine)
    legacy = TaskCreate.model_construct(
        title="ancient", due_at=datetime(1, 1, 1, tzinfo=UTC), reminders=["P1D", "PT0S"]
    )
    with Session(engine) as session:
        create_task(session, owner_id=owner, data=legacy)
        session.commit()
    _deliver_pending(engine, TASK_EVENTS.name)  # asserts SUCCESS, not RETRY
    assert [r.offset for r in _reminders(engine)] == ["PT0S"], "the representable one stays"
