"""Tracing: one trace from the API request through the outbox row to the relay's publish and
the consumer, on Dapr's publish contract and on the in-process bus; off by default."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app import tracing
from app.contract import ENV_OTLP_ENDPOINT, PUBSUB_NAME, TASK_EVENTS, Subscription
from app.db import make_engine, run_migrations
from app.events.cloudevent import CloudEvent
from app.events.models import TaskEvent, TaskSnapshot
from app.events.publisher import DaprPublisher
from app.events.relay import OutboxRelay
from app.main import create_app
from app.models.events import OutboxEvent
from app.models.notification import Notification
from app.settings import Settings
from taskstream.embedded_bus import EmbeddedPublisher
from tests.app.test_logs import logging_to, parsed
from tests.support.accounts import register_user
from tests.support.resolvers import FakeResolver
from workers.batch import Entry, apply_batch
from workers.notifier import app as notifier
from workers.notifier.claims import claim_due_reminders
from workers.recurrer import app as recurrer
from workers.runtime import Consumer, Route


@pytest.fixture
def spans(settings: Settings) -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, into memory; the engine must be made after this."""
    exporter = InMemorySpanExporter()
    assert tracing.configure(settings, "test", exporter=exporter) is not None
    yield exporter
    tracing.shutdown()


@pytest.fixture
def traced_engine(spans: InMemorySpanExporter, database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if database_url.startswith("sqlite"):
        run_migrations(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def traced_client(settings: Settings, traced_engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, traced_engine, resolver=FakeResolver({}))
    with TestClient(app) as client:
        yield client


def _hex(number: int, digits: int) -> str:
    return format(number, f"0{digits}x")


def _trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return _hex(span.context.trace_id, 32)


def _span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return _hex(span.context.span_id, 16)


def _parent_id(span: ReadableSpan) -> str | None:
    return _hex(span.parent.span_id, 16) if span.parent is not None else None


def _ancestors(span: ReadableSpan, finished: list[ReadableSpan]) -> list[ReadableSpan]:
    """The span's parents up to the root, each one found among the finished spans."""
    by_id = {_span_id(s): s for s in finished}
    chain: list[ReadableSpan] = []
    parent = _parent_id(span)
    while parent is not None:
        assert parent in by_id, f"{span.name}: parent {parent} was never recorded"
        chain.append(by_id[parent])
        parent = _parent_id(by_id[parent])
    return chain


def _create_task(client: TestClient, headers: dict[str, str]) -> httpx.Response:
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = client.post(
        "/api/v1/tasks",
        json={"title": "traced", "due_at": due, "reminders": ["PT1H"]},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response


def _request_span(finished: list[ReadableSpan]) -> ReadableSpan:
    [span] = [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /api/v1/tasks"]
    return span


def _outbox(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(OutboxEvent.id)))  # type: ignore[arg-type]


def test_the_outbox_row_carries_the_request_s_trace_and_the_cloudevent_its_publish_span(
    spans: InMemorySpanExporter, traced_client: TestClient, traced_engine: Engine
) -> None:
    alice = register_user(traced_client, "alice@example.com")
    spans.clear()
    _create_task(traced_client, alice.headers)
    request = _request_span(list(spans.get_finished_spans()))
    [row] = [r for r in _outbox(traced_engine) if r.event_type == "task.created"]
    assert row.traceparent is not None
    assert row.traceparent.split("-")[1] == _trace_id(request)

    bulk: list[Any] = []

    def sidecar(request: httpx.Request) -> httpx.Response:
        bulk.append((request.headers, json.loads(request.content)))
        return httpx.Response(204)

    publisher = DaprPublisher("http://127.0.0.1:3500", PUBSUB_NAME)
    publisher._client = httpx.Client(
        base_url="http://127.0.0.1:3500", transport=httpx.MockTransport(sidecar)
    )
    assert OutboxRelay(traced_engine, publisher).run_once() >= 1

    finished = list(spans.get_finished_spans())
    [publish] = [
        s
        for s in finished
        if s.name == "publish task-events"
        and s.attributes is not None
        and s.attributes["messaging.message.id"] == str(row.event_id)
    ]
    assert publish.kind == SpanKind.PRODUCER
    # The publish continues the request's trace, below the span that wrote the row.
    assert _trace_id(publish) == _trace_id(request)
    assert request in _ancestors(publish, finished)
    # daprd puts this into the CloudEvent (metadata override, dapr pkg/runtime/pubsub).
    [(headers, entries)] = bulk
    [entry] = [e for e in entries if e["metadata"]["cloudevent.id"] == str(row.event_id)]
    traceparent = entry["metadata"]["cloudevent.traceparent"]
    assert traceparent.startswith(f"00-{_trace_id(publish)}-{_span_id(publish)}-")
    assert int(traceparent[-2:], 16) & 1, "sampled"
    # The bulk call carries events of many traces: no single traceparent header for it.
    assert "traceparent" not in headers
    # Nor is the relay's polling traced: its queries have no parent and are not kept.
    assert all(s.parent is not None for s in finished if s.kind == SpanKind.CLIENT)


def test_the_in_process_bus_continues_the_trace_into_both_consumers(
    spans: InMemorySpanExporter,
    traced_client: TestClient,
    traced_engine: Engine,
    settings: Settings,
) -> None:
    alice = register_user(traced_client, "alice@example.com")
    spans.clear()
    _create_task(traced_client, alice.headers)
    publisher = EmbeddedPublisher(
        [notifier.build_consumer(traced_engine), recurrer.build_consumer(traced_engine, settings)]
    )
    assert OutboxRelay(traced_engine, publisher).run_once() >= 1

    finished = list(spans.get_finished_spans())
    request = _request_span(finished)
    consumed = [s for s in finished if s.name == "consume task-events"]
    assert len(consumed) == 2, "one consume span per subscriber"
    for consume in consumed:
        assert consume.kind == SpanKind.CONSUMER
        assert _trace_id(consume) == _trace_id(request)
        chain = _ancestors(consume, finished)
        assert chain[0].name == "publish task-events", "the consumer is a child of the publish"
        assert request in chain
        assert consume.attributes is not None
        assert consume.attributes["taskstream.ack"] == "SUCCESS"
    # The consumers' writes (the reminder the notifier schedules) are inside their spans.
    in_consume = [s for s in finished if _parent_id(s) in {_span_id(c) for c in consumed}]
    statements = [_statement(s) for s in in_consume if s.kind == SpanKind.CLIENT]
    assert any(text.startswith("INSERT INTO scheduledreminder") for text in statements), statements


def test_a_fired_reminder_and_its_notification_continue_the_request_s_trace(
    spans: InMemorySpanExporter,
    traced_client: TestClient,
    traced_engine: Engine,
    settings: Settings,
) -> None:
    alice = register_user(traced_client, "alice@example.com")
    spans.clear()
    due = datetime.now(UTC) + timedelta(seconds=1)
    response = traced_client.post(
        "/api/v1/tasks",
        json={"title": "soon", "due_at": due.isoformat(), "reminders": ["PT0S"]},
        headers=alice.headers,
    )
    assert response.status_code == 201, response.text
    relay = OutboxRelay(traced_engine, EmbeddedPublisher([notifier.build_consumer(traced_engine)]))
    assert relay.run_once() >= 1  # task.created: the notifier schedules the reminder
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.1)
    assert claim_due_reminders(traced_engine, "test") == 1
    assert relay.run_once() == 1  # reminder.due: the notifier writes the notification

    finished = list(spans.get_finished_spans())
    request = _request_span(finished)
    [consume] = [s for s in finished if s.name == "consume reminders"]
    chain = _ancestors(consume, finished)
    assert [s.name for s in chain[:2]] == ["publish reminders", "fire reminder"]
    assert request in chain
    inserts = [_statement(s) for s in finished if _parent_id(s) == _span_id(consume)]
    assert any(text.startswith("INSERT INTO notification") for text in inserts), inserts


def _statement(span: ReadableSpan) -> str:
    attributes = dict(span.attributes or {})
    return str(attributes.get("db.statement") or attributes.get("db.query.text") or "")


def test_a_delivered_cloudevent_s_traceparent_is_the_consume_span_s_parent(
    spans: InMemorySpanExporter, traced_engine: Engine
) -> None:
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    consumer = notifier.build_consumer(traced_engine)
    envelope = CloudEvent(
        id=str(uuid.uuid4()),
        type="task.deleted",
        data={"type": "task.deleted"},
        traceparent=f"00-{trace_id}-{parent}-01",
    )
    # Whatever daprd's delivery request carried, the event's own context is the parent.
    tracer = spans_provider_tracer()
    with tracer.start_as_current_span("POST /events/task-events", kind=SpanKind.SERVER):
        consumer.dispatch("task-events", envelope.model_dump(mode="json"))
    [consume] = [s for s in spans.get_finished_spans() if s.name == "consume task-events"]
    assert _trace_id(consume) == trace_id
    assert _parent_id(consume) == parent
    [delivery] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert [link.context.span_id for link in consume.links] == [delivery.context.span_id]  # type: ignore[union-attr]


def test_each_event_of_a_bulk_delivery_continues_its_own_trace(
    spans: InMemorySpanExporter, traced_engine: Engine
) -> None:
    def handler(session: Session, event: Any, envelope: CloudEvent) -> None:
        # A side effect with no query of its own: nothing flushes it but the batch.
        session.add(Notification(owner_id=event.owner_id, kind="t", title="t"))

    subscription = Subscription(topic=TASK_EVENTS, route="/events/task-events")
    consumer = Consumer("traced", traced_engine, [Route(subscription, handler)])
    parents = {uuid.uuid4().hex: uuid.uuid4().hex[:16] for _ in range(2)}
    entries = [
        Entry(
            entry_id=str(index),
            body=CloudEvent(
                id=str(uuid.uuid4()),
                type="task.deleted",
                data=_deleted_task_event(),
                traceparent=f"00-{trace_id}-{parent}-01",
            ).model_dump(mode="json"),
        )
        for index, (trace_id, parent) in enumerate(parents.items())
    ]
    answers = apply_batch(consumer, "task-events", entries, forward=lambda _refused: True)
    assert set(answers.values()) == {"SUCCESS"}
    finished = spans.get_finished_spans()
    consumed = [s for s in finished if s.name == "consume task-events"]
    assert {_trace_id(s): _parent_id(s) for s in consumed} == parents
    # Each event's own statements run inside its consume span.
    for consume in consumed:
        inserts = [_statement(s) for s in finished if _parent_id(s) == _span_id(consume)]
        assert any(text.startswith("INSERT INTO notification") for text in inserts), inserts


def test_traced_the_notifier_applies_a_batch_event_by_event_each_in_its_span(
    spans: InMemorySpanExporter, traced_engine: Engine
) -> None:
    # Untraced, the notifier schedules a whole batch's reminders in one statement; traced,
    # each event's own rows must still be written inside its consume span.
    due = datetime.now(UTC) + timedelta(days=1)
    entries = [
        Entry(
            entry_id=str(index),
            body=CloudEvent(
                id=str(uuid.uuid4()),
                type="task.created",
                data=_task_event("task.created", due_at=due, reminders=["PT1H"]),
                traceparent=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01",
            ).model_dump(mode="json"),
        )
        for index in range(2)
    ]
    consumer = notifier.build_consumer(traced_engine)
    answers = apply_batch(consumer, "task-events", entries, forward=lambda _refused: True)
    assert set(answers.values()) == {"SUCCESS"}
    finished = spans.get_finished_spans()
    consumed = [s for s in finished if s.name == "consume task-events"]
    assert len(consumed) == 2
    for consume in consumed:
        inserts = [_statement(s) for s in finished if _parent_id(s) == _span_id(consume)]
        assert any(text.startswith("INSERT INTO scheduledreminder") for text in inserts), inserts


def _deleted_task_event() -> dict[str, Any]:
    return _task_event("task.deleted")


def _task_event(
    kind: Any, due_at: datetime | None = None, reminders: list[str] | None = None
) -> dict[str, Any]:
    task_id, now = uuid.uuid4(), datetime.now(UTC)
    snapshot = TaskSnapshot(
        id=task_id, title="t", status="todo", priority="low", tags=[], due_at=due_at,
        reminders=reminders or [], series_id=None, occurrence_at=None, completed_at=None,
        version=1,
    )  # fmt: skip
    event = TaskEvent(
        event_type=kind, task_id=task_id, owner_id=uuid.uuid4(), occurred_at=now,
        task=snapshot,
    )  # fmt: skip
    return event.model_dump(mode="json")


def spans_provider_tracer() -> Any:
    assert tracing._provider is not None
    return tracing._provider.get_tracer("test")


def test_log_lines_carry_the_current_span_s_trace_id_when_tracing_is_on(
    spans: InMemorySpanExporter, traced_client: TestClient
) -> None:
    incoming = "4bf92f3577b34da6a3ce929d0e0e4736"
    with logging_to(io.StringIO(), "json") as out:
        response = traced_client.get(
            "/api/v1/tasks", headers={"traceparent": f"00-{incoming}-00f067aa0ba902b7-01"}
        )
    [access] = [line for line in parsed(out) if line["logger"] == "taskstream.access"]
    assert access["request_id"] == response.headers["X-Request-ID"]
    # The caller's trace is continued (W3C), and the line names it.
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert _trace_id(server) == incoming
    assert access["trace_id"] == incoming
    spans.clear()
    with logging_to(io.StringIO(), "json") as out:
        traced_client.get("/api/v1/tasks")
    [access] = [line for line in parsed(out) if line["logger"] == "taskstream.access"]
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert access["trace_id"] == _trace_id(server), "a new trace is named too"


def test_probes_are_not_traced(spans: InMemorySpanExporter, traced_client: TestClient) -> None:
    assert traced_client.get("/healthz").status_code == 200
    traced_client.get("/metrics")
    assert [s.name for s in spans.get_finished_spans()] == []


def test_tracing_is_off_without_an_endpoint(settings: Settings, engine: Engine) -> None:
    assert settings.otlp_endpoint is None
    assert tracing.configure(settings, "test") is None
    assert not tracing.enabled()
    assert tracing.current_context() == (None, None)
    with tracing.consume_span("task-events", object()) as span:
        assert span is None
    owner = uuid.uuid4()
    row = OutboxEvent(topic="t", event_type="x", aggregate_id=owner, owner_id=owner, payload={})
    assert (row.traceparent, row.tracestate) == (None, None)


def test_tracing_off_imports_no_sdk_nor_instrumentation() -> None:
    # FastAPI imports opentelemetry's API itself; the SDK, the exporter and the
    # instrumentations are ours to load, and only when tracing is on.
    code = (
        "import sys, app.main, app.events.relay_app, workers.http\n"
        "import taskstream.cli, taskstream.embedded\n"
        "from taskstream.cli import _configure_logging\n"
        "heavy = [m for m in sys.modules if m.startswith(('opentelemetry.sdk', "
        "'opentelemetry.exporter', 'opentelemetry.instrumentation'))]\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert result.stdout.strip() == "[]"


def test_the_endpoint_setting_and_opentelemetry_s_own_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert Settings(environment="test").otlp_endpoint == "http://collector:4318"
    monkeypatch.setenv(ENV_OTLP_ENDPOINT, "http://ours:4318/")
    assert Settings(environment="test").otlp_endpoint == "http://ours:4318/"
    assert tracing.traces_url("http://ours:4318/") == "http://ours:4318/v1/traces"
    assert tracing.traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"
