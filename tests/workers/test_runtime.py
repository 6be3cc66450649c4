"""The worker runtime: inbox dedupe, poison events, and the ack each outcome gives."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.contract import TASK_EVENTS, Subscription
from app.events.cloudevent import CloudEvent
from app.models.events import DeadLetter, InboxEntry
from app.models.notification import Notification
from tests.support.factories import make_task, make_user
from workers.runtime import Consumer, Event, PermanentError, Route, TransientError

SUB = Subscription(topic=TASK_EVENTS, route="/events/task-events")


def _envelope(engine: Engine, owner: uuid.UUID) -> dict[str, Any]:
    from app.models.events import OutboxEvent

    task = make_task(engine, owner)
    with Session(engine) as session:
        row = session.exec(select(OutboxEvent).where(OutboxEvent.aggregate_id == task.id)).one()
    return {
        "id": str(row.event_id),
        "type": row.event_type,
        "source": "taskstream",
        "specversion": "1.0",
        "topic": TASK_EVENTS.name,
        "data": row.payload,
    }


def _counting_consumer(
    engine: Engine, outcome: Exception | None = None
) -> tuple[Consumer, list[str]]:
    calls: list[str] = []
    lock = threading.Lock()

    def handler(session: Session, event: Event, envelope: CloudEvent) -> None:
        with lock:
            calls.append(envelope.id)
        if outcome is not None:
            raise outcome
        session.add(
            Notification(
                owner_id=event.owner_id,
                kind="test",
                title="side effect",
                source_event_id=envelope.id,
            )
        )

    return Consumer("test-consumer", engine, [Route(SUB, handler)]), calls


def _side_effects(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Notification)).all())


def test_the_same_event_delivered_five_times_applies_once(engine: Engine) -> None:
    consumer, _ = _counting_consumer(engine)
    envelope = _envelope(engine, make_user(engine))
    assert [consumer.dispatch(TASK_EVENTS.name, envelope) for _ in range(5)] == ["SUCCESS"] * 5
    assert _side_effects(engine) == 1


def test_the_same_event_delivered_five_times_concurrently_applies_once(engine: Engine) -> None:
    consumer, _ = _counting_consumer(engine)
    envelope = _envelope(engine, make_user(engine))
    with ThreadPoolExecutor(5) as pool:
        acks = list(pool.map(lambda _: consumer.dispatch(TASK_EVENTS.name, envelope), range(5)))
    assert acks == ["SUCCESS"] * 5
    assert _side_effects(engine) == 1
    with Session(engine) as session:
        assert len(session.exec(select(InboxEntry)).all()) == 1


def test_a_poison_event_is_dropped_to_the_dead_letters_and_the_next_one_still_applies(
    engine: Engine,
) -> None:
    consumer, _ = _counting_consumer(engine)
    owner = make_user(engine)
    poison = {
        "id": "poison-1",
        "type": "task.created",
        "data": {"event_type": "task.created", "task": "??"},
    }
    assert consumer.dispatch(TASK_EVENTS.name, poison) == "DROP"
    assert consumer.dispatch(TASK_EVENTS.name, b"not even json") == "DROP"
    assert consumer.dispatch(TASK_EVENTS.name, _envelope(engine, owner)) == "SUCCESS"
    assert _side_effects(engine) == 1
    with Session(engine) as session:
        letters = session.exec(select(DeadLetter)).all()
    assert [d.event_id for d in letters] == ["poison-1", None]
    assert "payload" in letters[0].reason
    assert "envelope" in letters[1].reason


def test_a_transient_failure_asks_for_a_retry_and_leaves_no_inbox_row(engine: Engine) -> None:
    consumer, calls = _counting_consumer(engine, TransientError("database is restarting"))
    envelope = _envelope(engine, make_user(engine))
    assert consumer.dispatch(TASK_EVENTS.name, envelope) == "RETRY"
    assert consumer.dispatch(TASK_EVENTS.name, envelope) == "RETRY", (
        "a retry runs the handler again"
    )
    assert len(calls) == 2
    with Session(engine) as session:
        assert session.exec(select(InboxEntry)).all() == []


def test_a_permanent_failure_is_dropped_once_and_recorded(engine: Engine) -> None:
    consumer, _ = _counting_consumer(engine, PermanentError("references a deleted series"))
    envelope = _envelope(engine, make_user(engine))
    assert consumer.dispatch(TASK_EVENTS.name, envelope) == "DROP"
    with Session(engine) as session:
        assert [d.event_id for d in session.exec(select(DeadLetter))] == [envelope["id"]]
