"""Smoke test of the real engines: Apache Kafka (KRaft) + daprd pubsub.kafka + an HTTP app.

It proves that the provisioned engines run on loopback and pins down the parts of the
Dapr pub/sub contract the service relies on:

* a publish through `POST /v1.0/publish/{pubsub}/{topic}` with `metadata.partitionKey`
  and `metadata.cloudevent.id` reaches the subscriber as a CloudEvent with that id, and
  the partition key becomes the Kafka message key;
* `{"status": "DROP"}` sends the event to the subscription's dead-letter topic at once;
* `{"status": "RETRY"}` is retried by the inbound resiliency policy, and an event that
  keeps failing ends in the dead-letter topic once the retries are spent.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request

from app.contract import PUBSUB_NAME, TASK_EVENTS
from tests.support.daprd import Daprd
from tests.support.engines import require_daprd, require_kafka
from tests.support.kafka import KafkaBroker
from tests.support.served import served

pytestmark = pytest.mark.integration

APP_ID = "taskstream-smoke"
ROUTE = "/events/task-events"
INBOUND_RETRIES = 3


@dataclass
class Delivery:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Subscriber:
    """A tiny app that answers Dapr the way a worker would, and records what it got."""

    deliveries: list[Delivery] = field(default_factory=list)
    # CloudEvent id -> the statuses to answer, in order (the last one repeats).
    script: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.get("/dapr/subscribe")
        def subscribe() -> list[dict[str, Any]]:
            return [
                {
                    "pubsubname": PUBSUB_NAME,
                    "topic": TASK_EVENTS.name,
                    "route": ROUTE,
                    "deadLetterTopic": TASK_EVENTS.dead_letter,
                }
            ]

        @api.post(ROUTE)
        async def receive(request: Request) -> dict[str, str]:
            body = json.loads(await request.body())
            with self.lock:
                self.deliveries.append(Delivery(dict(request.headers), body))
                statuses = self.script.get(body.get("id", ""), ["SUCCESS"])
                status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            return {"status": status}

        return api

    def received(self, event_id: str) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if d.body.get("id") == event_id]

    def wait_for(self, event_id: str, count: int = 1, timeout: float = 60.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(event_id)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        return self.received(event_id)


def _component_yaml(bootstrap: str) -> str:
    # The same component the platform declares, pointed at the test broker. No
    # maxMessageBytes (the docs' 1024 would cap events at 1 KiB); the consumer group
    # is per app id so two apps never split one stream.
    return f"""\
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: {PUBSUB_NAME}
spec:
  type: pubsub.kafka
  version: v1
  metadata:
    - name: brokers
      value: "{bootstrap}"
    - name: authType
      value: "none"
    - name: consumerGroup
      value: "{APP_ID}"
    - name: clientId
      value: "{APP_ID}"
    - name: initialOffset
      value: "oldest"
    - name: consumeRetryInterval
      value: "200ms"
"""


def _resiliency_yaml() -> str:
    # Without an inbound retry policy a dead-letter topic takes the event on the first
    # RETRY or 5xx; with one, the event is retried first.
    return f"""\
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: smoke-resiliency
spec:
  policies:
    retries:
      inbound:
        policy: constant
        duration: 200ms
        maxRetries: {INBOUND_RETRIES}
  targets:
    components:
      {PUBSUB_NAME}:
        inbound:
          retry: inbound
"""


@pytest.fixture(scope="module")
def broker() -> Iterator[KafkaBroker]:
    # Both engines or neither: don't spend a broker start on a test that will skip.
    require_daprd()
    require_kafka()
    # The engines alone, on a plaintext listener; the event path and the access tests run
    # the platform's SASL_SSL Component (test_event_path, test_kafka_access).
    with KafkaBroker(secure=False) as kafka:
        kafka.create_topics([TASK_EVENTS])
        yield kafka


@pytest.fixture(scope="module")
def subscriber() -> Iterator[tuple[Subscriber, int]]:
    recorder = Subscriber()
    with served(recorder.app(), "smoke-subscriber") as port:
        yield recorder, port


@pytest.fixture(scope="module")
def sidecar(
    broker: KafkaBroker,
    subscriber: tuple[Subscriber, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Daprd]:
    binary = require_daprd()
    resources: Path = tmp_path_factory.mktemp("dapr-resources")
    (resources / "pubsub.yaml").write_text(_component_yaml(broker.bootstrap_servers))
    (resources / "resiliency.yaml").write_text(_resiliency_yaml())
    _, app_port = subscriber
    with Daprd(APP_ID, app_port=app_port, resources_dir=resources, binary=binary) as dapr:
        dapr.wait_app_ready(timeout=60)
        yield dapr


def _dead_letters(broker: KafkaBroker, event_id: str, timeout: float = 30.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # A fresh group each time reads the whole (small) dead-letter topic.
        messages = broker.consume(TASK_EVENTS.dead_letter, 50, timeout=3)
        found = [m for m in messages if m.value and json.loads(m.value).get("id") == event_id]
        if found:
            return found
    return []


def test_publish_reaches_subscriber_as_cloudevent(
    broker: KafkaBroker, sidecar: Daprd, subscriber: tuple[Subscriber, int]
) -> None:
    recorder, _ = subscriber
    event_id = f"smoke-{uuid.uuid4()}"
    payload = {"schema_version": 1, "type": "task.created", "task_id": 42}

    response = sidecar.publish(
        PUBSUB_NAME, TASK_EVENTS.name, payload, partition_key="task-42", cloudevent_id=event_id
    )
    assert response.status_code == 204, response.text

    deliveries = recorder.wait_for(event_id)
    assert deliveries, f"no delivery of {event_id}; daprd log:\n{sidecar.log_tail()}"
    event = deliveries[0].body
    assert event["id"] == event_id
    assert event["specversion"] == "1.0"
    assert event["topic"] == TASK_EVENTS.name
    assert event["pubsubname"] == PUBSUB_NAME
    assert event["source"] == APP_ID
    assert event["datacontenttype"] == "application/json"
    assert event["data"] == payload
    assert deliveries[0].headers["content-type"].startswith("application/cloudevents+json")

    # On the wire: the partition key is the Kafka key, the value is the CloudEvent.
    raw = [
        m
        for m in broker.consume(TASK_EVENTS.name, 100, timeout=10)
        if m.value and json.loads(m.value).get("id") == event_id
    ]
    assert raw, "the published event is not on the topic"
    assert raw[0].key == b"task-42"


def test_drop_goes_to_dead_letter_topic(
    broker: KafkaBroker, sidecar: Daprd, subscriber: tuple[Subscriber, int]
) -> None:
    recorder, _ = subscriber
    event_id = f"poison-{uuid.uuid4()}"
    recorder.script[event_id] = ["DROP"]

    response = sidecar.publish(
        PUBSUB_NAME,
        TASK_EVENTS.name,
        {"schema_version": 999},
        partition_key="p",
        cloudevent_id=event_id,
    )
    assert response.status_code == 204, response.text

    assert recorder.wait_for(event_id), f"no delivery; daprd log:\n{sidecar.log_tail()}"
    dead = _dead_letters(broker, event_id)
    assert dead, f"DROP did not reach {TASK_EVENTS.dead_letter}; daprd log:\n{sidecar.log_tail()}"
    assert json.loads(dead[0].value)["data"] == {"schema_version": 999}
    # DROP is final: no retry even though an inbound retry policy exists.
    time.sleep(1)
    assert len(recorder.received(event_id)) == 1


def test_retry_is_retried_then_succeeds(
    broker: KafkaBroker, sidecar: Daprd, subscriber: tuple[Subscriber, int]
) -> None:
    recorder, _ = subscriber
    event_id = f"flaky-{uuid.uuid4()}"
    recorder.script[event_id] = ["RETRY", "RETRY", "SUCCESS"]

    response = sidecar.publish(
        PUBSUB_NAME, TASK_EVENTS.name, {"n": 1}, partition_key="flaky", cloudevent_id=event_id
    )
    assert response.status_code == 204, response.text

    deliveries = recorder.wait_for(event_id, count=3)
    assert len(deliveries) == 3, f"daprd log:\n{sidecar.log_tail()}"
    # Redeliveries carry the same CloudEvent id: the consumer's dedupe key.
    assert {d.body["id"] for d in deliveries} == {event_id}
    assert not _dead_letters(broker, event_id, timeout=3)


def test_retry_exhausted_goes_to_dead_letter_topic(
    broker: KafkaBroker, sidecar: Daprd, subscriber: tuple[Subscriber, int]
) -> None:
    recorder, _ = subscriber
    event_id = f"stuck-{uuid.uuid4()}"
    recorder.script[event_id] = ["RETRY"]

    response = sidecar.publish(
        PUBSUB_NAME, TASK_EVENTS.name, {"n": 2}, partition_key="stuck", cloudevent_id=event_id
    )
    assert response.status_code == 204, response.text

    dead = _dead_letters(broker, event_id, timeout=60)
    assert dead, f"exhausted retries did not dead-letter; daprd log:\n{sidecar.log_tail()}"
    assert len(recorder.received(event_id)) == 1 + INBOUND_RETRIES
