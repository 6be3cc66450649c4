"""Bulk deliveries: one transaction per batch, and each entry answered as if it came alone."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete, select

from app.contract import NOTIFIER, TASK_EVENTS, Subscription
from app.db import utcnow
from app.events.cloudevent import CloudEvent, envelope_of
from app.models.events import DeadLetter, InboxEntry, OutboxEvent, ScheduledReminder
from app.models.notification import Notification
from app.settings import Settings
from tests.support.factories import make_task, make_user
from workers.batch import Entry, Refusal, apply_batch
from workers.notifier import app as notifier
from workers.runtime import Consumer, Event, PermanentError, Route, TransientError

SUB = Subscription(topic=TASK_EVENTS, route="/events/task-events")


def _envelopes(engine: Engine, count: int) -> list[dict[str, Any]]:
    owner = make_user(engine)
    tasks = [make_task(engine, owner, f"t{i}") for i in range(count)]
    with Session(engine) as session:
        rows = {
            row.aggregate_id: row
            for row in session.exec(
                select(OutboxEvent).where(OutboxEvent.topic == TASK_EVENTS.name)
            )
        }
    return [
        {
            "id": str(rows[task.id].event_id),
            "type": rows[task.id].event_type,
            "source": "taskstream",
            "specversion": "1.0",
            "data": rows[task.id].payload,
        }
        for task in tasks
    ]


def _consumer(
    engine: Engine, fail: dict[str, Exception] | None = None
) -> tuple[Consumer, list[str]]:
    """A consumer whose side effect is a notification; events named in `fail` raise."""
    calls: list[str] = []
    lock = threading.Lock()

    def handler(session: Session, event: Event, envelope: CloudEvent) -> None:
        with lock:
            calls.append(envelope.id)
        if fail and envelope.id in fail:
            raise fail[envelope.id]
        session.add(
            Notification(
                owner_id=event.owner_id, kind="test", title="effect", source_event_id=envelope.id
            )
        )

    return Consumer("test-consumer", engine, [Route(SUB, handler)]), calls


class Forwarded:
    def __init__(self, works: bool = True) -> None:
        self.works = works
        self.refusals: list[Refusal] = []

    def __call__(self, refused: Sequence[Refusal]) -> bool:
        self.refusals.extend(refused)
        return self.works


def _entries(bodies: Sequence[Any]) -> list[Entry]:
    return [Entry(entry_id=str(i), body=body) for i, body in enumerate(bodies)]


def _effects(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(str(n.source_event_id) for n in session.exec(select(Notification)))


def _inbox(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(e.event_id for e in session.exec(select(InboxEntry)))


def test_a_batch_applies_every_event_once_and_a_redelivered_batch_applies_nothing(
    engine: Engine,
) -> None:
    consumer, calls = _consumer(engine)
    envelopes = _envelopes(engine, 5)
    entries = _entries([*envelopes, envelopes[0]])  # the same event twice in one batch
    forward = Forwarded()
    assert apply_batch(consumer, TASK_EVENTS.name, entries, forward) == dict.fromkeys(
        (e.entry_id for e in entries), "SUCCESS"
    )
    assert apply_batch(consumer, TASK_EVENTS.name, entries, forward) == dict.fromkeys(
        (e.entry_id for e in entries), "SUCCESS"
    )
    ids = sorted(e["id"] for e in envelopes)
    assert _effects(engine) == ids, "an event was applied twice, or not at all"
    assert _inbox(engine) == ids
    assert len(calls) == 5, "a redelivered batch ran handlers again"
    assert forward.refusals == []


def test_poison_entries_are_dead_lettered_alone_and_the_rest_of_the_batch_applies(
    engine: Engine,
) -> None:
    envelopes = _envelopes(engine, 4)
    refused_by_handler = envelopes[2]["id"]
    consumer, _ = _consumer(engine, {refused_by_handler: PermanentError("a deleted series")})
    bad_payload = {"id": "poison-1", "type": "task.created", "data": {"task": "??"}}
    bodies = [envelopes[0], bad_payload, envelopes[1], "not even json", envelopes[2], envelopes[3]]
    forward = Forwarded()

    answers = apply_batch(consumer, TASK_EVENTS.name, _entries(bodies), forward)

    # SUCCESS for the refused too: they are on the dead-letter topic already (forwarded).
    assert answers == {str(i): "SUCCESS" for i in range(6)}
    good = sorted(e["id"] for e in (envelopes[0], envelopes[1], envelopes[3]))
    assert _effects(engine) == good
    assert _inbox(engine) == good, "a refused event left an inbox row, so a replay would skip it"
    with Session(engine) as session:
        letters = {d.event_id: d.reason for d in session.exec(select(DeadLetter))}
    assert set(letters) == {"poison-1", None, refused_by_handler}
    assert letters["poison-1"].startswith("payload")
    assert letters[None].startswith("envelope")
    assert letters[refused_by_handler].startswith("permanent")
    assert sorted(r.entry.entry_id for r in forward.refusals) == ["1", "3", "4"]
    assert [r.entry.body for r in forward.refusals if r.entry.entry_id == "1"] == [bad_payload]


def test_a_transient_failure_retries_that_entry_and_the_ones_after_it_only(
    engine: Engine,
) -> None:
    envelopes = _envelopes(engine, 4)
    consumer, _ = _consumer(engine, {envelopes[2]["id"]: TransientError("a failover")})
    answers = apply_batch(consumer, TASK_EVENTS.name, _entries(envelopes), Forwarded())
    # Order within a partition holds: nothing after the retried entry is applied first.
    assert answers == {"0": "SUCCESS", "1": "SUCCESS", "2": "RETRY", "3": "RETRY"}
    assert _effects(engine) == sorted(e["id"] for e in envelopes[:2])
    assert _inbox(engine) == sorted(e["id"] for e in envelopes[:2])


def test_when_the_dead_letter_topic_is_unreachable_the_whole_batch_is_retried(
    engine: Engine,
) -> None:
    envelopes = _envelopes(engine, 2)
    consumer, _ = _consumer(engine)
    bodies = [envelopes[0], {"id": "poison-2", "type": "task.created", "data": {}}, envelopes[1]]
    answers = apply_batch(consumer, TASK_EVENTS.name, _entries(bodies), Forwarded(works=False))
    assert answers == {"0": "RETRY", "1": "RETRY", "2": "RETRY"}
    assert _effects(engine) == [], "a retried batch kept side effects"
    assert _inbox(engine) == [], "a retried batch kept inbox rows"
    with Session(engine) as session:
        assert session.exec(select(DeadLetter)).all() == []


def test_the_bulk_route_answers_each_entry_by_its_id(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelopes = _envelopes(engine, 2)
    forwarded: list[tuple[str, Any]] = []

    def publish(self: Any, topic: str, refusal: Refusal) -> bool:
        forwarded.append((topic, refusal.entry.body))
        return True

    monkeypatch.setattr("workers.bulk_http.DeadLetterForwarder._publish", publish)
    app = notifier.create_worker_app(
        notifier.build_consumer(engine), Settings(environment="test"), engine, []
    )
    poison = {"id": str(uuid.uuid4()), "type": "task.created", "data": {}}
    body = {
        "id": "b1",
        "topic": TASK_EVENTS.name,
        "pubsubname": "pubsub",
        "type": "com.dapr.event.sent",
        "entries": [
            {"entryId": "a", "event": envelopes[0], "metadata": {}},
            {"entryId": "b", "event": poison, "metadata": {}},
            {"entryId": "c", "event": envelopes[1], "metadata": {}},
        ],
    }
    route = NOTIFIER.subscriptions[0].bulk_route
    answer = TestClient(app).post(route, json=body)
    assert answer.status_code == 200
    assert answer.json() == {
        "statuses": [
            {"entryId": "a", "status": "SUCCESS"},
            {"entryId": "b", "status": "SUCCESS"},
            {"entryId": "c", "status": "SUCCESS"},
        ]
    }
    assert forwarded == [(TASK_EVENTS.dead_letter, poison)]
    assert _inbox(engine) == sorted(e["id"] for e in envelopes)


def test_each_applied_event_of_a_batch_gets_its_own_log_line_naming_it(engine: Engine) -> None:
    import io
    import json
    import logging

    from app import logs

    envelopes = _envelopes(engine, 2)
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    envelopes[0]["traceparent"] = traceparent
    consumer, _ = _consumer(engine)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    batch_log = logging.getLogger("workers.batch")
    batch_log.addHandler(handler)
    batch_log.setLevel(logging.INFO)
    request = logs.LogContext(request_id="the-batch-request")
    logs.bind(request)
    try:
        apply_batch(consumer, TASK_EVENTS.name, _entries(envelopes), Forwarded())
    finally:
        batch_log.removeHandler(handler)
        logs.bind(None)  # type: ignore[arg-type]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    applied = [line for line in lines if "applied" in line["message"]]
    assert [line["event_id"] for line in applied] == [e["id"] for e in envelopes]
    assert applied[0]["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert all(line["request_id"] == "the-batch-request" for line in applied)
    assert request.event_id is None, "the batch's own request line would name one event"


def _batch_consumer(
    engine: Engine, refuse: str | None = None
) -> tuple[Consumer, list[list[str]], list[str]]:
    """A consumer with a handler for whole batches; the event `refuse` names fails both
    ways, as a poison event would: the batch handler raises, the single one refuses it."""
    batches: list[list[str]] = []
    singles: list[str] = []

    def effect(session: Session, event: Event, envelope: CloudEvent) -> None:
        session.add(
            Notification(
                owner_id=event.owner_id, kind="test", title="effect", source_event_id=envelope.id
            )
        )

    def handler(session: Session, event: Event, envelope: CloudEvent) -> None:
        singles.append(envelope.id)
        if envelope.id == refuse:
            raise PermanentError("refused")
        effect(session, event, envelope)

    def batch_handler(session: Session, events: Sequence[tuple[Event, CloudEvent]]) -> None:
        batches.append([envelope.id for _, envelope in events])
        for event, envelope in events:
            if envelope.id == refuse:
                raise ValueError("a poison event in the batch")
            effect(session, event, envelope)

    route = Route(SUB, handler, batch_handler)
    return Consumer("test-consumer", engine, [route]), batches, singles


def test_a_batch_handler_gets_each_new_event_once_and_a_redelivery_none(engine: Engine) -> None:
    consumer, batches, singles = _batch_consumer(engine)
    envelopes = _envelopes(engine, 4)
    forward = Forwarded()
    apply_batch(consumer, TASK_EVENTS.name, _entries(envelopes[:2]), forward)
    # Two already applied, one twice in the batch, one poison payload, two new.
    bodies = [*envelopes, envelopes[3], {"id": "poison", "type": "task.created", "data": {}}]
    answers = apply_batch(consumer, TASK_EVENTS.name, _entries(bodies), forward)
    assert set(answers.values()) == {"SUCCESS"}
    ids = [e["id"] for e in envelopes]
    assert batches == [ids[:2], ids[2:]], "the batch handler saw an event already applied"
    assert singles == [], "a batch that applied whole went event by event"
    assert _effects(engine) == sorted(ids)
    assert _inbox(engine) == sorted(ids)
    assert [r.event_id for r in forward.refusals] == ["poison"]


def test_when_the_batch_handler_fails_the_batch_goes_event_by_event_and_refuses_one(
    engine: Engine,
) -> None:
    envelopes = _envelopes(engine, 3)
    poison = envelopes[1]["id"]
    consumer, batches, singles = _batch_consumer(engine, refuse=poison)
    forward = Forwarded()
    answers = apply_batch(consumer, TASK_EVENTS.name, _entries(envelopes), forward)
    assert answers == {"0": "SUCCESS", "1": "SUCCESS", "2": "SUCCESS"}
    assert len(batches) == 1
    assert singles == [e["id"] for e in envelopes], "the failed batch did not go event by event"
    good = sorted(e["id"] for e in envelopes if e["id"] != poison)
    assert _effects(engine) == good, "the failed batch's rows were kept, or the rest lost"
    assert _inbox(engine) == good
    assert [r.event_id for r in forward.refusals] == [poison]


def test_the_notifier_applies_a_batch_of_task_events_in_a_few_statements(
    engine: Engine,
) -> None:
    import sqlalchemy as sa

    owner = make_user(engine)
    for i in range(30):
        make_task(engine, owner, f"t{i}", due_at=utcnow() + timedelta(days=1), reminders=["PT1H"])
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(OutboxEvent.topic == TASK_EVENTS.name))
        bodies = [envelope_of(row).model_dump(mode="json") for row in rows]
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]).split()[0])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        answers = apply_batch(
            notifier.build_consumer(engine), TASK_EVENTS.name, _entries(bodies), Forwarded()
        )
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert set(answers.values()) == {"SUCCESS"}
    with Session(engine) as session:
        assert len(session.exec(select(ScheduledReminder)).all()) == 30
    # The inbox check, the reminders of every task, the inbox rows, the new reminders:
    # a handful per batch, where one event at a time took three each.
    assert len([s for s in statements if s in {"SELECT", "INSERT", "UPDATE", "DELETE"}]) <= 4, (
        statements
    )


def test_a_batch_refuses_the_same_bodies_for_the_same_reasons_as_single_deliveries(
    engine: Engine,
) -> None:
    consumer, _ = _consumer(engine)
    poison = [
        {"id": "bad-payload", "type": "task.created", "data": {"task": "??"}},
        {"type": "no id"},
        "not even json",
    ]
    forward = Forwarded()
    apply_batch(consumer, TASK_EVENTS.name, _entries(poison), forward)
    apply_batch(consumer, "a-topic-nobody-subscribed", _entries(poison[:1]), forward)
    with Session(engine) as session:
        batched = [(d.event_id, d.reason) for d in session.exec(select(DeadLetter))]
        session.exec(delete(DeadLetter))
        session.commit()
    for body in poison:
        assert consumer.dispatch(TASK_EVENTS.name, body) == "DROP"
    assert consumer.dispatch("a-topic-nobody-subscribed", poison[0]) == "DROP"
    with Session(engine) as session:
        single = [(d.event_id, d.reason) for d in session.exec(select(DeadLetter))]
    assert batched == single
    assert [reason.split(":")[0] for _, reason in single] == [
        "payload",
        "envelope",
        "envelope",
        "unsubscribed",
    ]
