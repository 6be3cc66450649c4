"""The Dapr contract over HTTP: what we publish, what we subscribe, what we answer."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.contract import (
    BULK_MAX_AWAIT_MS,
    BULK_MAX_MESSAGES,
    NOTIFIER,
    PROCESSES,
    PUBSUB_NAME,
    RECURRER,
    TASK_EVENTS,
)
from app.events.cloudevent import envelope_of
from app.events.publisher import DaprPublisher, PublishError
from app.models.events import OutboxEvent
from app.settings import Settings
from tests.support.factories import make_task, make_user
from workers.notifier import app as notifier
from workers.recurrer import app as recurrer


def _row(engine: Engine) -> OutboxEvent:
    task = make_task(engine, make_user(engine))
    with Session(engine) as session:
        return session.exec(select(OutboxEvent).where(OutboxEvent.aggregate_id == task.id)).one()


def _publisher(handler: Any) -> DaprPublisher:
    publisher = DaprPublisher("http://127.0.0.1:3500", PUBSUB_NAME)
    publisher._client = httpx.Client(
        base_url="http://127.0.0.1:3500", transport=httpx.MockTransport(handler)
    )
    return publisher


def test_a_publish_names_pubsub_and_topic_and_carries_partition_key_and_event_id(
    engine: Engine,
) -> None:
    row = _row(engine)
    seen: list[httpx.Request] = []

    def sidecar(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    _publisher(sidecar).publish(row)
    [request] = seen
    assert request.method == "POST"
    assert request.url.path == f"/v1.0/publish/{PUBSUB_NAME}/{TASK_EVENTS.name}"
    assert request.url.params["metadata.partitionKey"] == str(row.aggregate_id)
    assert request.url.params["metadata.cloudevent.id"] == str(row.event_id)
    assert request.url.params["metadata.cloudevent.type"] == "task.created"
    assert request.headers["content-type"] == "application/json"
    assert httpx.Response(200, content=request.content).json() == row.payload


@pytest.mark.parametrize(
    ("status", "reason"),
    [(500, "server"), (503, "server"), (400, "rejected"), (403, "rejected"), (404, "rejected")],
)
def test_a_sidecar_refusal_is_a_publish_error(engine: Engine, status: int, reason: str) -> None:
    row = _row(engine)
    with pytest.raises(PublishError) as caught:
        _publisher(lambda _: httpx.Response(status, text="nope")).publish(row)
    assert caught.value.reason == reason


def test_an_unreachable_sidecar_is_a_publish_error(engine: Engine) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(PublishError) as caught:
        _publisher(down).publish(_row(engine))
    assert caught.value.reason == "connection"


@pytest.fixture
def worker_clients(engine: Engine) -> dict[str, TestClient]:
    settings = Settings(environment="test")
    # No background loops: this test is about the HTTP contract only.
    return {
        "notifier": TestClient(
            notifier.create_worker_app(notifier.build_consumer(engine), settings, engine, [])
        ),
        "recurrer": TestClient(
            recurrer.create_worker_app(recurrer.build_consumer(engine), settings, engine, [])
        ),
    }


def test_each_worker_subscribes_to_its_topics_with_dead_letter_topics(
    worker_clients: dict[str, TestClient],
) -> None:
    for process in (NOTIFIER, RECURRER):
        listed = worker_clients[process.name].get("/dapr/subscribe").json()
        expected: list[dict[str, object]] = []
        for s in process.subscriptions:
            topic = s.topic
            expected.append(
                {
                    "pubsubname": PUBSUB_NAME,
                    "topic": topic.name,
                    "route": s.bulk_route,
                    "deadLetterTopic": topic.dead_letter,
                    "bulkSubscribe": {
                        "enabled": True,
                        "maxMessagesCount": BULK_MAX_MESSAGES,
                        "maxAwaitDurationMs": BULK_MAX_AWAIT_MS,
                    },
                }
            )
            expected.append(
                {
                    "pubsubname": PUBSUB_NAME,
                    "topic": topic.dead_letter,
                    "route": process.dead_letter_route,
                    "metadata": {"rawPayload": "true"},
                }
            )
        assert listed == expected
    assert {p.name for p in PROCESSES if p.subscriptions} == {"notifier", "recurrer"}


def test_deliveries_are_answered_with_an_explicit_status_body(
    worker_clients: dict[str, TestClient], engine: Engine
) -> None:
    client = worker_clients["notifier"]
    envelope = envelope_of(_row(engine)).model_dump(mode="json")
    ok = client.post("/events/task-events", json=envelope)
    assert (ok.status_code, ok.json()) == (200, {"status": "SUCCESS"})
    again = client.post("/events/task-events", json=envelope)
    assert again.json() == {"status": "SUCCESS"}, "a redelivery is acknowledged"
    poison = client.post(
        "/events/task-events", json={"id": str(uuid.uuid4()), "type": "task.created", "data": {}}
    )
    assert (poison.status_code, poison.json()) == (200, {"status": "DROP"})
    garbage = client.post("/events/task-events", content=b"\x00\x01")
    assert garbage.json() == {"status": "DROP"}


def test_a_transient_failure_is_answered_retry(
    worker_clients: dict[str, TestClient], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        from workers.runtime import TransientError

        raise TransientError("database failing over")

    monkeypatch.setattr(notifier, "sync_reminders", broken)
    consumer = notifier.build_consumer(engine)
    app = notifier.create_worker_app(consumer, Settings(environment="test"), engine, [])
    envelope = envelope_of(_row(engine)).model_dump(mode="json")
    answer = TestClient(app).post("/events/task-events", json=envelope)
    assert (answer.status_code, answer.json()) == (200, {"status": "RETRY"})


def test_declarative_mode_lists_no_subscriptions_so_dapr_does_not_see_them_twice(
    engine: Engine,
) -> None:
    settings = Settings(environment="test", dapr_subscriptions="declarative")
    app = notifier.create_worker_app(notifier.build_consumer(engine), settings, engine, [])
    assert TestClient(app).get("/dapr/subscribe").json() == []


def test_dead_letter_deliveries_are_counted_and_acknowledged(
    worker_clients: dict[str, TestClient],
) -> None:
    client = worker_clients["recurrer"]
    answer = client.post(
        "/events/dead-letter", json={"id": "x", "topic": "task-events-dlq", "data": {}}
    )
    assert answer.json() == {"status": "SUCCESS"}
    metrics = client.get("/metrics").text
    assert (
        'taskstream_dead_letter_events_total{consumer="taskstream-recurrer",topic="task-events-dlq"}'
        in metrics
    )


def _rows(engine: Engine, count: int) -> list[OutboxEvent]:
    owner = make_user(engine)
    for i in range(count):
        make_task(engine, owner, f"t{i}")
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(OutboxEvent.id)))  # type: ignore[arg-type]


def test_a_bulk_publish_sends_one_entry_per_row_with_its_key_and_event_id(engine: Engine) -> None:
    rows = _rows(engine, 3)
    seen: list[httpx.Request] = []

    def sidecar(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    assert _publisher(sidecar).publish_batch(rows) == {}
    [request] = seen
    assert request.url.path == f"/v1.0/publish/bulk/{PUBSUB_NAME}/{TASK_EVENTS.name}"
    entries = httpx.Response(200, content=request.content).json()
    assert [e["entryId"] for e in entries] == [str(r.id) for r in rows]
    for entry, row in zip(entries, rows, strict=True):
        assert entry["event"] == row.payload
        assert entry["contentType"] == "application/json"
        assert entry["metadata"]["partitionKey"] == str(row.aggregate_id)
        assert entry["metadata"]["cloudevent.id"] == str(row.event_id)
        assert entry["metadata"]["cloudevent.type"] == row.event_type


def test_a_partly_failed_bulk_publish_names_only_the_failed_rows(engine: Engine) -> None:
    rows = _rows(engine, 3)
    failed = {"failedEntries": [{"entryId": str(rows[1].id), "error": "broker said no"}]}
    errors = _publisher(lambda _: httpx.Response(500, json=failed)).publish_batch(rows)
    assert list(errors) == [rows[1].id]
    assert errors[rows[1].id or 0].reason == "server"
    assert "broker said no" in str(errors[rows[1].id or 0])


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, text="not json"),
        httpx.Response(500, json={"failedEntries": []}),
        httpx.Response(400, json={"errorCode": "ERR_PUBSUB_EVENTS_SER"}),
    ],
)
def test_a_bulk_refusal_without_a_usable_list_fails_every_row(
    engine: Engine, answer: httpx.Response
) -> None:
    rows = _rows(engine, 2)
    errors = _publisher(lambda _: answer).publish_batch(rows)
    assert sorted(errors) == sorted(r.id for r in rows)


def test_an_unreachable_sidecar_fails_the_whole_bulk(engine: Engine) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    rows = _rows(engine, 2)
    errors = _publisher(down).publish_batch(rows)
    assert {e.reason for e in errors.values()} == {"connection"}
    assert len(errors) == 2
