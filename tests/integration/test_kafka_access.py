"""The event bus refuses strangers and keeps each app to its own topics and group.

A real Kafka broker with SASL_SSL, SCRAM-SHA-512 and KRaft's StandardAuthorizer, holding the
platform's users and ACLs (infra.kafka_access, what the cluster's rpk Job applies).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from app.contract import NOTIFIER, RECURRER, RELAY, REMINDERS, TASK_EVENTS, TOPICS, Process
from infra import kafka_access
from tests.support.engines import require_kafka
from tests.support.kafka import KafkaBroker
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

TIMEOUT = 20.0


@pytest.fixture(scope="module")
def broker() -> Iterator[KafkaBroker]:
    require_kafka()
    with KafkaBroker() as kafka:
        kafka.create_topics(TOPICS)
        kafka.produce(TASK_EVENTS.name, b"seed")
        kafka.produce(REMINDERS.name, b"seed")
        yield kafka


def produce_error(config: dict[str, object], topic: str) -> str | None:
    """None if one message was written, else the error's name."""
    from confluent_kafka import Producer

    producer = Producer({**config, "acks": "all", "message.timeout.ms": int(TIMEOUT * 1000)})
    errors: list[str] = []
    producer.produce(
        topic,
        value=b"forged",
        on_delivery=lambda err, _msg: errors.append(err.name()) if err else None,
    )
    if producer.flush(TIMEOUT + 5) > 0:
        return "timed out"
    return errors[0] if errors else None


def consume_error(config: dict[str, object], topic: str, group: str) -> str | None:
    """None if a message of `topic` was read in `group`, else the first error's name."""
    from confluent_kafka import Consumer, KafkaError

    consumer = Consumer(
        {
            **config,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([topic])
        for _ in range(int(TIMEOUT / 0.5)):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is None:
                return None
            if err.code() != KafkaError._PARTITION_EOF:
                return str(err.name())
        return "timed out"
    finally:
        consumer.close()


def test_a_client_without_credentials_reads_and_writes_nothing(broker: KafkaBroker) -> None:
    anonymous = broker.client_config(user=None)

    assert produce_error(anonymous, TASK_EVENTS.name) is not None, "a stranger forged an event"
    assert consume_error(anonymous, TASK_EVENTS.name, f"x-{uuid.uuid4().hex}") is not None, (
        "a stranger read task events"
    )


def test_a_wrong_password_is_refused(broker: KafkaBroker) -> None:
    config = {**broker.client_config(user=NOTIFIER.app_id), "sasl.password": "not-it"}

    assert produce_error(config, TASK_EVENTS.name) is not None, "a wrong password was accepted"


def test_a_plaintext_client_is_refused(broker: KafkaBroker) -> None:
    plaintext = {
        "bootstrap.servers": broker.bootstrap_servers,
        "log_level": 2,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": NOTIFIER.app_id,
        "sasl.password": broker.dapr_env(NOTIFIER.app_id)[kafka_access.ENV_PASSWORD],
    }

    assert produce_error(plaintext, TASK_EVENTS.name) is not None, "the broker spoke plaintext"


def test_the_relay_publishes_but_reads_nothing(broker: KafkaBroker) -> None:
    relay = broker.client_config(user=RELAY.app_id)

    for topic in TOPICS:
        assert produce_error(relay, topic.name) is None, f"the relay cannot publish {topic.name}"
    assert consume_error(relay, TASK_EVENTS.name, RELAY.app_id) is not None, (
        "the relay read task events"
    )


@pytest.mark.parametrize("worker", [NOTIFIER, RECURRER], ids=lambda p: p.name)
def test_a_worker_cannot_forge_events(broker: KafkaBroker, worker: Process) -> None:
    config = broker.client_config(user=worker.app_id)

    for topic in TOPICS:
        error = produce_error(config, topic.name)
        assert error == "TOPIC_AUTHORIZATION_FAILED", f"{worker.name} wrote {topic.name}: {error}"


def test_each_worker_reads_its_topics_in_its_own_group_only(broker: KafkaBroker) -> None:
    notifier = broker.client_config(user=NOTIFIER.app_id)
    recurrer = broker.client_config(user=RECURRER.app_id)

    assert consume_error(notifier, TASK_EVENTS.name, NOTIFIER.app_id) is None
    assert consume_error(notifier, REMINDERS.name, NOTIFIER.app_id) is None
    assert consume_error(recurrer, TASK_EVENTS.name, RECURRER.app_id) is None
    assert consume_error(recurrer, REMINDERS.name, RECURRER.app_id) is not None, (
        "the recurrer read reminders it does not subscribe to"
    )
    assert consume_error(recurrer, TASK_EVENTS.name, NOTIFIER.app_id) is not None, (
        "the recurrer joined the notifier's consumer group"
    )


def test_a_worker_may_dead_letter_its_own_topics_only(broker: KafkaBroker) -> None:
    recurrer = broker.client_config(user=RECURRER.app_id)

    assert produce_error(recurrer, TASK_EVENTS.dead_letter) is None, "daprd cannot dead-letter"
    error = produce_error(recurrer, REMINDERS.dead_letter)
    assert error == "TOPIC_AUTHORIZATION_FAILED", f"the recurrer wrote reminders-dlq: {error}"


@pytest.mark.parametrize("reader", kafka_access.lag_readers(), ids=lambda user: user.process)
def test_a_lag_reader_sees_offsets_but_reads_and_writes_no_events(
    broker: KafkaBroker, reader: kafka_access.KafkaUser
) -> None:
    """The lag exporter's and KEDA's users: describe is all that reading lag takes."""
    from workers.lag_exporter import BrokerOffsets, KafkaSettings, Offsets, consumer_groups

    env = broker.dapr_env(reader.name)
    settings = KafkaSettings(
        brokers=broker.bootstrap_servers,
        username=env[kafka_access.ENV_USERNAME],
        password=env[kafka_access.ENV_PASSWORD],
        ca_cert=env[kafka_access.ENV_CA_CERT],
    )
    # KEDA's user reads the scaled topics only; the exporter's their dead letters too.
    described = {a.name for a in reader.acls if a.resource == "topic"}
    groups = {g: tuple(t for t in ts if t in described) for g, ts in consumer_groups().items()}
    offsets = BrokerOffsets(settings)

    def read() -> Offsets | None:
        try:
            return offsets.read(groups)
        except Exception:  # a fresh broker has no group coordinator at first
            offsets.close()
            return None

    try:
        found = wait_until(read, timeout=60, what=f"{reader.name} to read offsets", every=1)
    finally:
        offsets.close()
    assert found.end[(TASK_EVENTS.name, 0)] >= 0
    assert set(found.partitions) == described

    config = broker.client_config(user=reader.name)
    assert produce_error(config, TASK_EVENTS.name) is not None, f"{reader.name} wrote events"
    assert consume_error(config, TASK_EVENTS.name, NOTIFIER.app_id) is not None, (
        f"{reader.name} joined the notifier's group and read its events"
    )
