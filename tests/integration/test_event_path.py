"""The whole event path on real engines: PostgreSQL, Kafka, and api, relay, notifier and
recurrer each beside its own daprd, loaded with the resources the cluster applies.

Every check waits (bounded) on persisted state: rows in PostgreSQL, messages on the broker.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.contract import (
    DAPR_API_TOKEN_HEADER,
    ENV_DATABASE_URL,
    ENV_KAFKA_BROKERS,
    ENV_LAG_POLL_SECONDS,
    ENV_OTLP_ENDPOINT,
    LAG_EXPORTER,
    METRIC_CONSUMER_LAG,
    NOTIFIER,
    PUBSUB_NAME,
    RECURRER,
    REMINDERS,
    TASK_EVENTS,
    TOPICS,
)
from app.db import make_engine
from app.events.cloudevent import envelope_of
from app.models.events import DeadLetter, InboxEntry, OutboxEvent, ScheduledReminder
from app.models.notification import Notification
from app.settings import get_settings
from taskstream.cli import cli
from tests.integration.conftest import failed
from tests.support.engines import require_daprd, require_engine, require_kafka
from tests.support.kafka import KafkaBroker
from tests.support.otlp import ReceivedSpan, TraceReceiver, receiving_traces
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer
from tests.support.scenarios import AFTER_COMPLETION_SERIES
from tests.support.waiting import wait_until
from tools.dev.stack import AppProcess, EventPath

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
CONSUMERS = (NOTIFIER.app_id, RECURRER.app_id)
STREAM_SIZE = 1000


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    headers: dict[str, str]


# -- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traces() -> Iterator[TraceReceiver]:
    """Every process exports its spans here (OTLP/HTTP), as they would to a collector."""
    with receiving_traces() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def stack(
    postgres_server: PostgresServer | None,
    tmp_path_factory: pytest.TempPathFactory,
    traces: TraceReceiver,
) -> Iterator[EventPath]:
    require_daprd()
    require_kafka()
    require_engine("postgresql", postgres_server is not None, "run tools/engines/postgres.sh")
    assert postgres_server is not None
    name = f"event_path_{uuid.uuid4().hex[:8]}"
    url = postgres_server.create_database(name)
    workdir: Path = tmp_path_factory.mktemp("event-path")
    try:
        with KafkaBroker() as broker:
            broker.create_topics(TOPICS)
            env = {
                ENV_OTLP_ENDPOINT: traces.endpoint,
                # Export within a fifth of a second, not OpenTelemetry's default five.
                "OTEL_BSP_SCHEDULE_DELAY": "200",
                # Every test registers its users from 127.0.0.1 against this one API.
                "TASKSTREAM_REGISTRATIONS_PER_ADDRESS_PER_HOUR": "1000",
            }
            with EventPath(database_url=url, broker=broker, workdir=workdir, extra_env=env) as path:
                yield path
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(autouse=True)
def _print_logs_on_failure(request: pytest.FixtureRequest, stack: EventPath) -> Iterator[None]:
    yield
    if failed(request.node):
        print(f"\n===== process logs (in {stack.logs}) =====\n{stack.log_tails()}")


@pytest.fixture(scope="module")
def db(stack: EventPath) -> Iterator[Engine]:
    engine = make_engine(stack.database_url, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def api(stack: EventPath) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{stack.api_url}/api/v1", timeout=30) as client:
        yield client


# -- helpers ---------------------------------------------------------------------------


def register(api: httpx.Client) -> User:
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    created = api.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, f"registration failed: {created.text}"
    token = api.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, f"login failed: {token.text}"
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return User(id=uuid.UUID(created.json()["id"]), headers=headers)


def create_task(
    api: httpx.Client, user: User, *, title: str, due_at: datetime, reminders: list[str]
) -> dict[str, Any]:
    response = api.post(
        "/tasks",
        headers=user.headers,
        json={"title": title, "due_at": due_at.isoformat(), "reminders": reminders},
    )
    assert response.status_code == 201, f"creating a task failed: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def api_get(api: httpx.Client, user: User, path: str, **params: Any) -> Any:
    response = api.get(path, headers=user.headers, params=params)
    assert response.status_code == 200, f"GET {path} failed: {response.text}"
    return response.json()


def api_post(api: httpx.Client, user: User, path: str) -> Any:
    response = api.post(path, headers=user.headers)
    assert response.status_code == 200, f"POST {path} failed: {response.text}"
    return response.json()


def reminders_of(db: Engine, task_id: str) -> list[ScheduledReminder]:
    with Session(db) as session:
        query = select(ScheduledReminder).where(ScheduledReminder.task_id == uuid.UUID(task_id))
        return list(session.exec(query))


def events_of(db: Engine, task_id: str, event_type: str) -> list[OutboxEvent]:
    with Session(db) as session:
        query = (
            select(OutboxEvent)
            .where(
                OutboxEvent.aggregate_id == uuid.UUID(task_id),
                OutboxEvent.event_type == event_type,
            )
            .order_by(col(OutboxEvent.id))
        )
        return list(session.exec(query))


def consumed_by(db: Engine, event_id: str) -> set[str]:
    with Session(db) as session:
        query = select(InboxEntry.consumer).where(InboxEntry.event_id == event_id)
        return set(session.exec(query))


def count(db: Engine, query: Any) -> int:
    with Session(db) as session:
        return int(session.exec(query).one())


def dead_letters_where(db: Engine, *conditions: Any) -> list[DeadLetter]:
    with Session(db) as session:
        return list(session.exec(select(DeadLetter).where(*conditions)))


def ready(url: str) -> int:
    try:
        return httpx.get(f"{url}/readyz", timeout=10).status_code
    except httpx.HTTPError:
        return 0


def on_dead_letter_topic(broker: KafkaBroker, matches: Any, want: int) -> list[dict[str, Any]]:
    """The CloudEvents on task-events-dlq that `matches`, once `want` of them are there."""
    found: list[dict[str, Any]] = []

    def probe() -> bool:
        nonlocal found
        messages = broker.consume(TASK_EVENTS.dead_letter, 1000, timeout=3)
        found = [event for m in messages if (event := _json_or_none(m.value)) and matches(event)]
        return len(found) >= want

    wait_until(probe, timeout=90, what=f"{want} matching events on {TASK_EVENTS.dead_letter}")
    return found


def _json_or_none(value: bytes | None) -> Any:
    """A dead-letter topic holds anything, even bytes that are not JSON."""
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


def partition_of(broker: KafkaBroker, topic: str, key: str) -> int:
    """The partition Dapr's producer put `key` on (its hash differs from librdkafka's)."""
    messages = broker.consume(topic, 10_000, timeout=5)
    partitions = {m.partition for m in messages if m.key == key.encode()}
    assert len(partitions) == 1, f"key {key} is on partitions {partitions} of {topic}"
    return partitions.pop()


def produce_raw(broker: KafkaBroker, topic: str, partition: int, key: str, value: bytes) -> None:
    """Write straight to one partition, bypassing Dapr and its CloudEvent envelope."""
    from confluent_kafka import Producer

    producer = Producer(broker.client_config(acks="all"))
    producer.produce(topic, value=value, key=key, partition=partition)
    assert producer.flush(30) == 0, f"producing to {topic}[{partition}] timed out"


def logged_trace_id(stack: EventPath, process: str, request_id: str) -> str | None:
    """The trace id on the process's JSON access line of the request with this id."""
    for line in stack.services[process].app.log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        fields = json.loads(line)
        if fields.get("logger") == "taskstream.access" and fields.get("request_id") == request_id:
            trace_id = fields.get("trace_id")
            return str(trace_id) if trace_id else None
    return None


def chain_to_root(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan] | None:
    """The span and its parents up to the root, or None while a parent is not received."""
    by_id = {s.span_id: s for s in spans}
    chain = [span]
    while chain[-1].parent_span_id is not None:
        parent = by_id.get(chain[-1].parent_span_id)
        if parent is None:
            return None
        chain.append(parent)
    return chain


# -- the tests -------------------------------------------------------------------------


def test_one_trace_spans_the_request_the_relay_both_workers_and_the_notification(
    api: httpx.Client, db: Engine, stack: EventPath, traces: TraceReceiver
) -> None:
    user = register(api)
    due = datetime.now(UTC) + timedelta(seconds=5)
    response = api.post(
        "/tasks",
        headers=user.headers,
        json={"title": "traced", "due_at": due.isoformat(), "reminders": ["PT0S"]},
    )
    assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    [created] = events_of(db, task_id, "task.created")
    event_id = str(created.event_id)
    # The operator's way in: the request id the API answered with, on its log line.
    trace_id = wait_until(
        lambda: logged_trace_id(stack, "api", response.headers["X-Request-ID"]),
        timeout=10,
        what="the api's access line with the trace id",
    )
    assert created.traceparent is not None
    assert created.traceparent.split("-")[1] == trace_id, "the outbox row keeps the trace"

    def consumed(topic: str, ids: set[str], services: int) -> list[ReceivedSpan] | None:
        found = [
            s
            for s in traces.spans()
            if s.name == f"consume {topic}" and s.attributes.get("messaging.message.id") in ids
        ]
        return found if len({s.service for s in found}) >= services else None

    consumes = wait_until(
        lambda: consumed(TASK_EVENTS.name, {event_id}, len(CONSUMERS)),
        timeout=60,
        what="both workers' consume spans of task.created",
    )
    assert {s.service for s in consumes} == {
        f"taskstream-{NOTIFIER.name}",
        f"taskstream-{RECURRER.name}",
    }
    assert {s.trace_id for s in consumes} == {trace_id}, "a worker started another trace"
    chains = wait_until(
        lambda: (
            [chain_to_root(s, traces.spans()) for s in consumes]
            if all(chain_to_root(s, traces.spans()) for s in consumes)
            else None
        ),
        timeout=30,
        what="every parent of the consume spans, exported",
    )
    for consume, *parents in (chain for chain in chains if chain is not None):
        # consume -> publish (relay) -> ... -> the request (api): one trace, every link kept.
        assert consume.kind == "CONSUMER"
        assert {span.trace_id for span in parents} == {trace_id}, consume.service
        publish = parents[0]
        assert (publish.service, publish.name, publish.kind) == (
            "taskstream-relay",
            f"publish {TASK_EVENTS.name}",
            "PRODUCER",
        )
        root = parents[-1]
        assert (root.service, root.name, root.kind) == (
            "taskstream-api",
            "POST /api/v1/tasks",
            "SERVER",
        )

    # Then the reminder fires: reminder.due -> the notification, still in the same trace.
    fired = wait_until(
        lambda: events_of(db, task_id, "reminder.due"), timeout=60, what="the reminder firing"
    )
    [delivered] = wait_until(
        lambda: consumed(REMINDERS.name, {str(e.event_id) for e in fired}, 1),
        timeout=60,
        what="the notifier's consume span of reminder.due",
    )
    assert delivered.trace_id == trace_id, "the notification is in another trace"
    chain = wait_until(
        lambda: chain_to_root(delivered, traces.spans()),
        timeout=30,
        what="every parent of the reminder's consume span, exported",
    )
    assert [s.name for s in chain[1:3]] == [f"publish {REMINDERS.name}", "fire reminder"]
    assert (chain[-1].service, chain[-1].name) == ("taskstream-api", "POST /api/v1/tasks")
    wait_until(
        lambda: any(
            s.parent_span_id == delivered.span_id
            and str(s.attributes.get("db.statement", "")).startswith("INSERT INTO notification")
            for s in traces.spans()
        ),
        timeout=10,
        what="the notification's insert inside the reminder's consume span",
    )


def test_a_task_created_and_changed_through_the_api_reaches_both_workers(
    api: httpx.Client, db: Engine
) -> None:
    user = register(api)
    due = datetime.now(UTC) + timedelta(days=2)
    task = create_task(api, user, title="Renew passport", due_at=due, reminders=["PT1H", "P1D"])

    scheduled = wait_until(
        lambda: len(rows := reminders_of(db, task["id"])) == 2 and rows,
        timeout=60,
        what="the notifier to schedule both reminders",
    )
    [created] = events_of(db, task["id"], "task.created")
    consumers = wait_until(
        lambda: (seen := consumed_by(db, str(created.event_id))) == set(CONSUMERS) and seen,
        timeout=60,
        what="both workers to record task.created in their inbox",
    )

    assert consumers == set(CONSUMERS)
    assert {r.offset for r in scheduled} == {"PT1H", "P1D"}, "wrong reminder offsets"
    assert {r.state for r in scheduled} == {"pending"}, "reminders of a future task must wait"
    assert {r.remind_at for r in scheduled} == {
        due - timedelta(hours=1),
        due - timedelta(days=1),
    }, "remind_at is not due_at minus the offset"

    changed = api.patch(f"/tasks/{task['id']}", headers=user.headers, json={"reminders": ["PT2H"]})
    assert changed.status_code == 200, f"changing the reminders failed: {changed.text}"
    rescheduled = wait_until(
        lambda: [r.offset for r in reminders_of(db, task["id"])] == ["PT2H"],
        timeout=60,
        what="the notifier to apply task.updated",
    )
    assert rescheduled


def log_lines(stack: EventPath, process: str) -> list[dict[str, Any]]:
    """A process's log as the JSON objects it wrote (every line must be one)."""
    text = (stack.logs / f"{process}.log").read_text(errors="replace")
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def test_the_log_lines_of_a_request_and_its_event_name_them_in_json(
    api: httpx.Client, db: Engine, stack: EventPath
) -> None:
    user = register(api)
    due = datetime.now(UTC) + timedelta(days=1)
    response = api.post(
        "/tasks",
        headers={**user.headers, "X-Request-ID": "req-log-fields"},
        json={"title": "Water plants", "due_at": due.isoformat(), "reminders": ["PT1H"]},
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == "req-log-fields"
    [created] = events_of(db, response.json()["id"], "task.created")
    event_id = str(created.event_id)
    wait_until(
        lambda: consumed_by(db, event_id) == set(CONSUMERS), timeout=60, what="both consumers"
    )

    def delivery_line() -> dict[str, Any] | None:
        lines = log_lines(stack, "notifier")
        return next((line for line in lines if line.get("event_id") == event_id), None)

    delivered = wait_until(delivery_line, timeout=30, what="the notifier's line for the event")
    [created_line] = [
        line
        for line in log_lines(stack, "api")
        if line.get("request_id") == "req-log-fields" and line["logger"] == "taskstream.access"
    ]
    assert created_line["user_id"] == str(user.id)
    assert created_line["http"]["method"] == "POST"
    assert created_line["http"]["status"] == 201
    # Deliveries come in batches: the line is the event's own, within its batch's request.
    assert delivered["logger"] == "workers.batch", delivered
    # daprd keeps each event's W3C traceparent in its CloudEvent; the line carries its id.
    assert len(delivered.get("trace_id", "")) == 32, delivered


def test_a_worker_refuses_an_event_that_does_not_come_from_its_sidecar(
    stack: EventPath,
) -> None:
    # The deliveries above came through daprd, which sends the app token; nobody else has it.
    notifier = stack.service(NOTIFIER.name)
    route = f"{notifier.url}{NOTIFIER.subscriptions[0].route}"
    event = {"id": str(uuid.uuid4()), "type": "task.created", "data": {}}
    for headers in ({}, {DAPR_API_TOKEN_HEADER: "a guess"}):
        answer = httpx.post(route, json=event, headers=headers, timeout=10)
        assert answer.status_code == 401, f"{route} took an event with {headers}: {answer.text}"
    sidecar = httpx.get(f"{notifier.sidecar.http_url}/v1.0/metadata", timeout=10)
    assert sidecar.status_code == 401, "the sidecar's API answers callers without its token"


def test_a_reminder_due_in_a_few_seconds_lands_in_the_inbox(api: httpx.Client) -> None:
    user = register(api)
    due = datetime.now(UTC) + timedelta(seconds=4)
    task = create_task(api, user, title="Call back", due_at=due, reminders=["PT0S"])

    inbox = wait_until(
        lambda: api_get(api, user, "/notifications")["items"],
        timeout=60,
        what="the reminder notification",
    )

    assert [n["title"] for n in inbox] == ["Reminder: Call back"], f"unexpected inbox {inbox}"
    assert inbox[0]["task_id"] == task["id"], "the notification names another task"
    delivered = datetime.fromisoformat(inbox[0]["created_at"])
    assert delivered >= due, f"delivered at {delivered}, before the due time {due}"
    assert api_get(api, user, "/notifications/unread-count") == {"unread": 1}


def test_completing_an_after_completion_occurrence_yields_exactly_one_next_occurrence(
    api: httpx.Client, db: Engine, stack: EventPath
) -> None:
    user = register(api)
    created = api.post(
        "/recurring-tasks",
        headers=user.headers,
        json=AFTER_COMPLETION_SERIES,
    )
    assert created.status_code == 201, f"creating the series failed: {created.text}"
    series_id = created.json()["id"]
    [first] = api_get(api, user, "/tasks", series_id=series_id)["items"]

    api_post(api, user, f"/tasks/{first['id']}/complete")
    page = wait_until(
        lambda: (p := api_get(api, user, "/tasks", series_id=series_id))["total"] == 2 and p,
        timeout=60,
        what="the recurrer to create the next occurrence",
    )
    [following] = [t for t in page["items"] if t["id"] != first["id"]]
    assert following["status"] == "todo", "the next occurrence should be open"

    # A redelivery of the same completion (same CloudEvent id, same partition), then a
    # reopen and a second completion: none of them may add an occurrence.
    [completion] = events_of(db, first["id"], "task.completed")
    # Through the relay's sidecar: the only one whose Kafka user may publish.
    republished = stack.service("relay").sidecar.publish(
        PUBSUB_NAME,
        TASK_EVENTS.name,
        completion.payload,
        partition_key=str(completion.aggregate_id),
        cloudevent_id=str(completion.event_id),
    )
    assert republished.status_code == 204, f"republishing failed: {republished.text}"
    api_post(api, user, f"/tasks/{first['id']}/reopen")
    api_post(api, user, f"/tasks/{first['id']}/complete")
    second = wait_until(
        lambda: len(done := events_of(db, first["id"], "task.completed")) == 2 and done[1],
        timeout=30,
        what="the second task.completed in the outbox",
    )
    wait_until(
        lambda: RECURRER.app_id in consumed_by(db, str(second.event_id)),
        timeout=60,
        what="the recurrer to consume the second completion",
    )

    total = api_get(api, user, "/tasks", series_id=series_id)["total"]
    assert total == 2, f"the series has {total} occurrences after redelivery and re-completion"


def test_a_poison_event_goes_to_the_dead_letter_topic_and_the_stream_keeps_flowing(
    api: httpx.Client, db: Engine, stack: EventPath
) -> None:
    user = register(api)
    due = datetime.now(UTC) + timedelta(days=1)
    task = create_task(api, user, title="Pay rent", due_at=due, reminders=["PT1H"])
    wait_until(
        lambda: reminders_of(db, task["id"]),
        timeout=60,
        what="the notifier to schedule the reminder",
    )
    partition = partition_of(stack.broker, TASK_EVENTS.name, task["id"])

    # Two poisons on the task's own partition, ahead of its next change: a CloudEvent whose
    # payload fails validation (through Dapr), and a JSON body that is no CloudEvent at all
    # (straight onto the broker).
    poison_id = f"poison-{uuid.uuid4()}"
    published = stack.service("relay").sidecar.publish(
        PUBSUB_NAME,
        TASK_EVENTS.name,
        {"schema_version": 999, "event_type": "task.created"},
        partition_key=task["id"],
        cloudevent_id=poison_id,
    )
    assert published.status_code == 204, f"publishing the poison failed: {published.text}"
    marker = f"not-a-cloudevent-{uuid.uuid4()}"
    produce_raw(
        stack.broker,
        TASK_EVENTS.name,
        partition,
        task["id"],
        json.dumps({"marker": marker}).encode(),
    )

    changed = api.patch(f"/tasks/{task['id']}", headers=user.headers, json={"reminders": ["PT3H"]})
    assert changed.status_code == 200, f"changing the task failed: {changed.text}"
    wait_until(
        lambda: [r.offset for r in reminders_of(db, task["id"])] == ["PT3H"],
        timeout=90,
        what="the change behind the poisons to be applied",
    )

    refused = {d.consumer for d in dead_letters_where(db, DeadLetter.event_id == poison_id)}
    assert refused == set(CONSUMERS), f"consumers that refused the poison: {refused}"
    unenveloped = dead_letters_where(db, col(DeadLetter.body).contains(marker))
    assert {d.consumer for d in unenveloped} == set(CONSUMERS), "the raw poison was not refused"
    assert all(d.reason.startswith("envelope") for d in unenveloped), "wrong refusal reason"

    # One copy per subscriber: each consumer's sidecar dead-letters what its app dropped.
    dead = on_dead_letter_topic(stack.broker, lambda e: e.get("id") == poison_id, want=2)
    assert len(dead) == 2, f"{len(dead)} copies of the poison on the dead-letter topic"
    assert dead[0]["data"] == {"schema_version": 999, "event_type": "task.created"}
    raw = on_dead_letter_topic(stack.broker, lambda e: e.get("marker") == marker, want=2)
    assert len(raw) == 2, f"{len(raw)} copies of the raw poison on the dead-letter topic"


def produce_together(
    broker: KafkaBroker, topic: str, partition: int, key: str, values: list[bytes]
) -> None:
    """One produce request onto one partition: daprd then reads them as one batch."""
    from confluent_kafka import Producer

    producer = Producer(broker.client_config(acks="all", **{"linger.ms": 50}))
    for value in values:
        producer.produce(topic, value=value, key=key, partition=partition)
    assert producer.flush(30) == 0, f"producing to {topic}[{partition}] timed out"


def test_a_batch_mixing_good_and_poison_events_applies_the_good_and_dead_letters_each_poison(
    api: httpx.Client, db: Engine, stack: EventPath
) -> None:
    user = register(api)
    due = datetime.now(UTC) + timedelta(days=1)
    task = create_task(api, user, title="Batch", due_at=due, reminders=["PT1H"])
    wait_until(lambda: reminders_of(db, task["id"]), timeout=60, what="the task to be applied")
    [created] = events_of(db, task["id"], "task.created")
    partition = partition_of(stack.broker, TASK_EVENTS.name, task["id"])

    def cloudevent(event_id: str, data: Any) -> bytes:
        body = {"specversion": "1.0", "id": event_id, "source": "taskstream"}
        return json.dumps({**body, "type": "task.created", "data": data}).encode()

    good = [f"good-{uuid.uuid4()}" for _ in range(3)]
    poison_id = f"poison-{uuid.uuid4()}"
    marker = f"not-a-cloudevent-{uuid.uuid4()}"
    garbage = f"not json at all {uuid.uuid4()}".encode()
    # The garbage first: daprd holds it back from the batch, so the app's entries no longer
    # sit where daprd's own list has them (what its DROP handling gets wrong).
    produce_together(
        stack.broker,
        TASK_EVENTS.name,
        partition,
        task["id"],
        [
            garbage,
            cloudevent(good[0], created.payload),
            cloudevent(poison_id, {"schema_version": 999, "event_type": "task.created"}),
            cloudevent(good[1], created.payload),
            json.dumps({"marker": marker}).encode(),
            cloudevent(good[2], created.payload),
        ],
    )

    def applied() -> bool:
        return all(consumed_by(db, event_id) == set(CONSUMERS) for event_id in good)

    wait_until(applied, timeout=90, what="both consumers to apply the good events of the batch")
    for event_id in good:
        rows = count(db, select(func.count()).where(col(InboxEntry.event_id) == event_id))
        assert rows == len(CONSUMERS), f"{event_id} has {rows} inbox rows, not one per consumer"
    refused = {d.consumer for d in dead_letters_where(db, DeadLetter.event_id == poison_id)}
    assert refused == set(CONSUMERS), f"consumers that refused the poison: {refused}"
    unenveloped = dead_letters_where(db, col(DeadLetter.body).contains(marker))
    assert {d.consumer for d in unenveloped} == set(CONSUMERS), "the raw poison was not refused"
    assert not dead_letters_where(db, col(DeadLetter.event_id).in_(good)), "a good one refused"

    # Each poison's own bytes on the dead-letter topic, once per subscriber; no good event.
    dead = on_dead_letter_topic(stack.broker, lambda e: e.get("id") == poison_id, want=2)
    assert len(dead) == 2, f"{len(dead)} copies of the poison on the dead-letter topic"
    assert all(e["data"] == {"schema_version": 999, "event_type": "task.created"} for e in dead)
    raw = on_dead_letter_topic(stack.broker, lambda e: e.get("marker") == marker, want=2)
    assert len(raw) == 2, f"{len(raw)} copies of the raw poison on the dead-letter topic"
    lettered = stack.broker.consume(TASK_EVENTS.dead_letter, 10_000, timeout=5)
    assert not [m for m in lettered if m.value and any(g.encode() in m.value for g in good)]
    assert sum(m.value == garbage for m in lettered) == 2, "daprd did not dead-letter the garbage"
    for name in ("notifier", "recurrer"):
        assert stack.service(name).sidecar.running, f"the {name}'s sidecar died on the batch"


def replay_dead_letters(stack: EventPath, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """`taskstream dlq replay ARGS` as an operator runs it against the stack's database."""
    monkeypatch.setenv(ENV_DATABASE_URL, stack.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["dlq", "replay", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, f"dlq replay failed: {result.output}"
    return result.stdout


def test_a_replayed_dead_letter_reaches_the_consumer_that_lost_it_and_no_other_twice(
    api: httpx.Client, db: Engine, stack: EventPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = register(api)
    due = datetime.now(UTC) + timedelta(days=1)
    task = create_task(api, user, title="File taxes", due_at=due, reminders=["PT1H"])
    wait_until(lambda: reminders_of(db, task["id"]), timeout=60, what="the first reminder")
    [created] = events_of(db, task["id"], "task.created")
    event_id = str(created.event_id)
    wait_until(
        lambda: consumed_by(db, event_id) == set(CONSUMERS),
        timeout=60,
        what="both workers to apply task.created",
    )
    # As if the notifier had refused the event (a bug since fixed): its effect and its inbox
    # row are absent, and its dead letter holds the CloudEvent daprd delivered.
    with Session(db) as session:
        session.execute(
            sa.delete(ScheduledReminder).where(
                col(ScheduledReminder.task_id) == uuid.UUID(task["id"])
            )
        )
        session.execute(
            sa.delete(InboxEntry).where(
                col(InboxEntry.consumer) == NOTIFIER.app_id, col(InboxEntry.event_id) == event_id
            )
        )
        letter = DeadLetter(
            consumer=NOTIFIER.app_id,
            topic=TASK_EVENTS.name,
            event_id=event_id,
            reason="permanent: the handler refused it",
            body=envelope_of(created).model_dump_json(),
        )
        session.add(letter)
        session.commit()
        letter_id = letter.id

    # By id: other tests of this module leave poisons among the notifier's dead letters.
    said = replay_dead_letters(stack, monkeypatch, str(letter_id))

    assert "replayed 1 event(s) (1 from the outbox" in said
    reminded = wait_until(
        lambda: reminders_of(db, task["id"]), timeout=60, what="the replay to reach the notifier"
    )
    assert [r.offset for r in reminded] == ["PT1H"]
    assert consumed_by(db, event_id) == set(CONSUMERS)
    # The recurrer received it again too; its inbox made that a no-op, so no second row.
    applied = count(db, select(func.count()).where(col(InboxEntry.event_id) == event_id))
    assert applied == len(CONSUMERS), f"{applied} inbox rows for one event"
    assert not dead_letters_where(db, DeadLetter.event_id == event_id)


def test_a_replayed_event_that_fails_again_returns_to_the_dead_letters(
    api: httpx.Client, db: Engine, stack: EventPath, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = register(api)
    task = create_task(api, user, title="Call home", due_at=datetime.now(UTC), reminders=[])
    # An event the consumers can never parse, once published and refused by both.
    with Session(db, expire_on_commit=False) as session:
        poison = OutboxEvent(
            topic=TASK_EVENTS.name,
            event_type="task.created",
            aggregate_id=uuid.UUID(task["id"]),
            owner_id=user.id,
            payload={"schema_version": 999, "task_id": task["id"], "owner_id": str(user.id)},
            published_at=datetime.now(UTC),
        )
        session.add(poison)
        session.flush()
        for consumer in CONSUMERS:
            session.add(
                DeadLetter(
                    consumer=consumer,
                    topic=TASK_EVENTS.name,
                    event_id=str(poison.event_id),
                    reason="payload: schema_version 999",
                    body=envelope_of(poison).model_dump_json(),
                    created_at=datetime.now(UTC) - timedelta(hours=1),
                )
            )
        session.commit()
    event_id = str(poison.event_id)

    # Backdated an hour: the filters leave this module's fresh poisons alone.
    replay_dead_letters(stack, monkeypatch, "--topic", TASK_EVENTS.name, "--older-than", "30m")

    back = wait_until(
        lambda: len(rows := dead_letters_where(db, DeadLetter.event_id == event_id)) == 2 and rows,
        timeout=90,
        what="both consumers to dead-letter the replayed poison again",
    )
    assert {d.consumer for d in back} == set(CONSUMERS)
    assert all(d.reason.startswith("payload") for d in back), [d.reason for d in back]
    assert all(d.created_at > datetime.now(UTC) - timedelta(minutes=5) for d in back)
    assert not consumed_by(db, event_id), "a refused event must not be in any inbox"


@pytest.mark.timeout(900)
def test_a_worker_crashing_mid_stream_of_a_thousand_events_loses_and_repeats_nothing(
    api: httpx.Client, db: Engine, stack: EventPath
) -> None:
    user = register(api)
    notifier = stack.service("notifier")
    of_user = col(OutboxEvent.owner_id) == user.id

    def notifier_applied(topic: str) -> int:
        return count(
            db,
            select(func.count())
            .select_from(InboxEntry)
            .join(OutboxEvent, sa.cast(OutboxEvent.event_id, sa.String) == InboxEntry.event_id)
            .where(of_user, InboxEntry.consumer == NOTIFIER.app_id, OutboxEvent.topic == topic),
        )

    def create(n: int) -> None:
        # Due 20 s after creation, so every reminder is still pending when scheduled.
        due = datetime.now(UTC) + timedelta(seconds=20)
        create_task(api, user, title=f"stream {n}", due_at=due, reminders=["PT0S"])

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        creations = [pool.submit(create, n) for n in range(STREAM_SIZE)]
        wait_until(
            lambda: notifier_applied(TASK_EVENTS.name) >= 100,
            timeout=120,
            what="the notifier to get going on the stream",
        )
        notifier.kill()
        at_crash = notifier_applied(TASK_EVENTS.name)
        time.sleep(3)
        notifier.start()
        for creation in creations:
            creation.result()
    created_in = time.monotonic() - started
    assert at_crash < STREAM_SIZE, f"the crash came after the stream ({at_crash} applied)"

    wait_until(
        lambda: (
            count(
                db,
                select(func.count())
                .select_from(Notification)
                .where(Notification.owner_id == user.id),
            )
            >= STREAM_SIZE
        ),
        timeout=300,
        what=f"{STREAM_SIZE} reminder notifications",
    )
    time.sleep(2)  # anything applied twice would show up now

    notifications = count(
        db, select(func.count()).select_from(Notification).where(Notification.owner_id == user.id)
    )
    distinct_tasks = count(
        db,
        select(func.count(sa.distinct(Notification.task_id))).where(
            Notification.owner_id == user.id
        ),
    )
    fired = count(
        db,
        select(func.count())
        .select_from(ScheduledReminder)
        .where(ScheduledReminder.owner_id == user.id, ScheduledReminder.state == "fired"),
    )
    reminders = count(
        db,
        select(func.count())
        .select_from(ScheduledReminder)
        .where(ScheduledReminder.owner_id == user.id),
    )
    assert notifications == STREAM_SIZE, f"{notifications} notifications for {STREAM_SIZE} tasks"
    assert distinct_tasks == STREAM_SIZE, f"only {distinct_tasks} tasks were notified"
    assert reminders == STREAM_SIZE, f"{reminders} scheduled reminders for {STREAM_SIZE} tasks"
    assert fired == STREAM_SIZE, f"{fired} of {STREAM_SIZE} reminders fired"
    assert notifier_applied(TASK_EVENTS.name) == STREAM_SIZE, "task events missing in the inbox"
    assert notifier_applied("reminders") == STREAM_SIZE, "reminder events missing in the inbox"
    refused = dead_letters_where(db, col(DeadLetter.body).contains(str(user.id)))
    assert not refused, f"{len(refused)} events of the stream were dead-lettered"
    print(f"\n{STREAM_SIZE} tasks created in {created_in:.1f}s; crash after {at_crash} applied")


def test_a_broker_outage_holds_events_in_the_outbox_and_delivers_them_after(
    api: httpx.Client, db: Engine, stack: EventPath
) -> None:
    user = register(api)
    relay = stack.service("relay")
    pending = (
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.owner_id == user.id, col(OutboxEvent.published_at).is_(None))
    )
    assert ready(relay.url) == 200, "the relay should be ready before the outage"

    stopped = time.monotonic()
    stack.broker.stop()
    try:
        due = datetime.now(UTC) + timedelta(days=1)
        tasks = [
            create_task(api, user, title=f"during outage {n}", due_at=due, reminders=["PT1H"])
            for n in range(3)
        ]
        wait_until(
            lambda: ready(relay.url) == 503,
            timeout=90,
            what="the relay's /readyz to fail while the broker is down",
        )
        unready_after = time.monotonic() - stopped
        held = count(db, pending)
        assert held > 0, "the outbox should hold the events while the broker is down"
        time.sleep(3)
    finally:
        stack.broker.start()
    restarted = time.monotonic()

    wait_until(
        lambda: count(db, pending) == 0,
        timeout=180,
        what="the relay to publish what the outbox held",
    )
    for task in tasks:
        wait_until(
            lambda task=task: reminders_of(db, task["id"]),
            timeout=120,
            what=f"the notifier to schedule {task['title']}",
        )
    drained_after = time.monotonic() - restarted
    wait_until(lambda: ready(relay.url) == 200, timeout=60, what="the relay to be ready again")

    scheduled = sum(len(reminders_of(db, task["id"])) for task in tasks)
    assert scheduled == len(tasks), f"{scheduled} reminders for {len(tasks)} tasks"
    assert held <= len(tasks), f"{held} events held for {len(tasks)} changes"
    print(
        f"\nrelay unready {unready_after:.1f}s after the broker stopped; {held} events held; "
        f"all applied {drained_after:.1f}s after it restarted"
    )


def dead_letters_seen(worker_url: str, consumer: str) -> float:
    """The worker's count of events it saw on its dead-letter topics (its /metrics)."""
    text = httpx.get(f"{worker_url}/metrics", timeout=10).text
    prefix = f'taskstream_dead_letter_events_total{{consumer="{consumer}"'
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


# A dead-letter topic may hold anything; its watcher must keep counting past garbage.
def test_a_message_that_is_not_json_on_a_dead_letter_topic_does_not_wedge_the_watcher(
    stack: EventPath,
) -> None:
    notifier = stack.service("notifier")
    before = dead_letters_seen(notifier.url, NOTIFIER.app_id)

    # A foreign producer's garbage, then an ordinary dead letter behind it on its partition.
    key = f"garbage-{uuid.uuid4()}"
    produce_raw(stack.broker, TASK_EVENTS.dead_letter, 0, key, b"\xff\xfe not json")
    sentinel = {"id": f"sentinel-{uuid.uuid4()}", "specversion": "1.0", "type": "t", "data": {}}
    produce_raw(stack.broker, TASK_EVENTS.dead_letter, 0, key, json.dumps(sentinel).encode())

    wait_until(
        lambda: dead_letters_seen(notifier.url, NOTIFIER.app_id) >= before + 2,
        timeout=15,
        what="the notifier to count both dead letters, the garbage and the one behind it",
    )


def test_the_apis_sidecar_holds_no_pubsub_and_so_no_broker_credentials(stack: EventPath) -> None:
    published = stack.service("api").sidecar.publish(PUBSUB_NAME, TASK_EVENTS.name, {"x": 1})

    assert published.status_code == 404, (
        f"the API's sidecar reached the broker: {published.status_code} {published.text}"
    )


# -- consumer lag ----------------------------------------------------------------------

LAG_BACKLOG = 25


@pytest.fixture(scope="module")
def lag_exporter(stack: EventPath) -> Iterator[AppProcess]:
    """`taskstream lag-exporter` as its own read-only Kafka user, reading every second."""
    credentials = stack.broker.dapr_env(LAG_EXPORTER.app_id)
    exporter = AppProcess(
        LAG_EXPORTER.name,
        LAG_EXPORTER.args,
        port=free_port(),
        env={
            ENV_KAFKA_BROKERS: stack.broker.bootstrap_servers,
            ENV_LAG_POLL_SECONDS: "1",
            **credentials,
        },
        log_path=stack.logs / f"{LAG_EXPORTER.name}.log",
    )
    exporter.launch()
    try:
        exporter.wait_healthy()
        yield exporter
    finally:
        exporter.stop()


def exported_lag(exporter: AppProcess, group: str, topic: str) -> int | None:
    """The group's lag on `topic`, summed over partitions, as /metrics says (None: not yet)."""
    text = httpx.get(f"{exporter.url}/metrics", timeout=5).text
    found = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == METRIC_CONSUMER_LAG
        and sample.labels["group"] == group
        and sample.labels["topic"] == topic
    ]
    return int(sum(found)) if found else None


# Stopping and restarting a worker and its sidecar, plus the module's stack when this runs
# first: past the default 300 s on a loaded machine (it did, at load average ~29).
@pytest.mark.timeout(600)
def test_a_stopped_consumer_s_lag_is_exported_and_drains_to_zero_once_it_is_back(
    stack: EventPath, api: httpx.Client, lag_exporter: AppProcess
) -> None:
    recurrer = stack.service(RECURRER.name)
    user = register(api)

    def lag(group: str) -> int | None:
        return exported_lag(lag_exporter, group, TASK_EVENTS.name)

    wait_until(lambda: lag(RECURRER.app_id) == 0, timeout=90, what="the recurrer to be caught up")
    assert ready(lag_exporter.url) == 200, "the exporter reads the broker yet says it is not ready"

    recurrer.stop()
    try:
        due = datetime.now(UTC) + timedelta(days=1)
        for n in range(LAG_BACKLOG):
            create_task(api, user, title=f"backlog {n}", due_at=due, reminders=[])
        behind = wait_until(
            lambda: (value := lag(RECURRER.app_id)) is not None and value >= LAG_BACKLOG and value,
            timeout=90,
            what=f"the stopped recurrer's lag to reach {LAG_BACKLOG}",
        )
        # The notifier's group read the same events: its lag is its own, and back to 0.
        wait_until(
            lambda: lag(NOTIFIER.app_id) == 0, timeout=90, what="the notifier's lag back at 0"
        )
    finally:
        recurrer.start()
    wait_until(
        lambda: lag(RECURRER.app_id) == 0, timeout=120, what="the recurrer's lag to drain to 0"
    )
    print(f"\nrecurrer {behind} behind while stopped; drained once restarted")
