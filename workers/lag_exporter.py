"""`taskstream lag-exporter`: how far each consumer group is behind, as Prometheus gauges.

Lag is what a group has yet to commit: a partition's end offset less the group's committed
offset there. A partition the group never committed counts from the log's start, because
the pub/sub Component starts a new group at the oldest offset (infra/dapr_manifests.py,
`initialOffset`). The groups and topics come from the contract: each worker's Dapr app id
is its consumer group, and it reads its topics and their dead-letter topics.

It talks to the broker with the Kafka admin API as a user that may only describe those
topics and groups (infra/kafka_access.py), over the same SASL SCRAM and TLS as daprd.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

from app import contract

log = logging.getLogger(__name__)

# The broker's names, equal to infra.kafka_access.SASL_MECHANISM (app cannot import infra).
SASL_MECHANISM = "SCRAM-SHA-512"
DEFAULT_POLL_SECONDS = 15.0
# Not ready once no read has succeeded for this many polls: the figures would be stale.
STALE_AFTER_POLLS = 4

CONSUMER_LAG = Gauge(
    contract.METRIC_CONSUMER_LAG,
    "Messages a consumer group has not committed yet, per topic and partition.",
    ["group", "topic", "partition"],
)
READ_FAILURES = Counter(
    contract.METRIC_CONSUMER_LAG_READ_FAILURES.removesuffix("_total"),
    "Times the lag exporter could not read offsets from the broker.",
)


def consumer_groups(
    processes: Iterable[contract.Process] = contract.PROCESSES,
) -> dict[str, tuple[str, ...]]:
    """Each consumer group (a worker's app id) and the topics it reads, dead letters too."""
    groups: dict[str, tuple[str, ...]] = {}
    for process in processes:
        topics: list[str] = []
        for subscription in process.subscriptions:
            topics += [subscription.topic.name, subscription.topic.dead_letter]
        if topics:
            groups[process.app_id] = tuple(topics)
    return groups


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    start: int  # the log's first offset still kept
    end: int  # the offset the next message will get
    committed: int | None  # None: the group never committed on this partition

    @property
    def lag(self) -> int:
        position = self.start if self.committed is None else max(self.committed, self.start)
        return max(self.end - position, 0)


@dataclass(frozen=True)
class Offsets:
    """What one read of the broker returned: partitions of each topic and their offsets."""

    partitions: Mapping[str, tuple[int, ...]]
    start: Mapping[tuple[str, int], int]
    end: Mapping[tuple[str, int], int]
    committed: Mapping[str, Mapping[tuple[str, int], int]]  # group -> committed offsets


def lags(groups: Mapping[str, tuple[str, ...]], offsets: Offsets) -> list[PartitionLag]:
    """Every (group, topic, partition) the groups read, with its lag."""
    found: list[PartitionLag] = []
    for group, topics in groups.items():
        committed = offsets.committed.get(group, {})
        for topic in topics:
            for partition in offsets.partitions.get(topic, ()):
                key = (topic, partition)
                found.append(
                    PartitionLag(
                        group=group,
                        topic=topic,
                        partition=partition,
                        start=offsets.start[key],
                        end=offsets.end[key],
                        committed=committed.get(key),
                    )
                )
    return found


@dataclass(frozen=True)
class KafkaSettings:
    brokers: str
    username: str
    password: str
    ca_cert: str  # PEM
    poll_seconds: float = DEFAULT_POLL_SECONDS

    @classmethod
    def from_environment(cls, env: Mapping[str, str] = os.environ) -> KafkaSettings:
        missing = [
            name
            for name in (
                contract.ENV_KAFKA_BROKERS,
                contract.ENV_KAFKA_USERNAME,
                contract.ENV_KAFKA_PASSWORD,
                contract.ENV_KAFKA_CA_CERT,
            )
            if not env.get(name)
        ]
        if missing:
            raise ValueError(f"the lag exporter needs {', '.join(missing)}")
        return cls(
            brokers=env[contract.ENV_KAFKA_BROKERS],
            username=env[contract.ENV_KAFKA_USERNAME],
            password=env[contract.ENV_KAFKA_PASSWORD],
            ca_cert=env[contract.ENV_KAFKA_CA_CERT],
            poll_seconds=float(env.get(contract.ENV_LAG_POLL_SECONDS, DEFAULT_POLL_SECONDS)),
        )

    def admin_config(self) -> dict[str, Any]:
        """kafka-python settings: SASL SCRAM over TLS, trusting only the given CA."""
        return {
            "bootstrap_servers": self.brokers.split(","),
            "client_id": contract.LAG_EXPORTER.app_id,
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": SASL_MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
            "ssl_context": ssl.create_default_context(cadata=self.ca_cert),
            "request_timeout_ms": 10_000,
        }


class BrokerOffsets:
    """Reads `Offsets` through one Kafka admin client, opened on first use."""

    def __init__(self, settings: KafkaSettings) -> None:
        self._settings = settings
        self._admin: Any = None

    def read(self, groups: Mapping[str, tuple[str, ...]]) -> Offsets:
        from kafka import TopicPartition  # type: ignore[import-untyped]
        from kafka.admin import KafkaAdminClient, OffsetSpec  # type: ignore[import-untyped]

        if self._admin is None:
            self._admin = KafkaAdminClient(**self._settings.admin_config())
        admin = self._admin
        topics = sorted({topic for names in groups.values() for topic in names})
        partitions: dict[str, tuple[int, ...]] = {}
        for described in admin.describe_topics(topics):
            # kafka-python 3 gives Metadata's field names (name, partition_index).
            name = described.get("name") or described.get("topic")
            if described.get("error_code", 0):
                raise RuntimeError(f"cannot describe topic {name}")
            numbers = sorted(
                p.get("partition_index", p.get("partition")) for p in described["partitions"]
            )
            partitions[name] = tuple(numbers)
        every = [TopicPartition(t, p) for t, numbers in partitions.items() for p in numbers]

        def offsets(spec: Any) -> dict[tuple[str, int], int]:
            answer = admin.list_partition_offsets(dict.fromkeys(every, spec))
            return {(tp.topic, tp.partition): int(found.offset) for tp, found in answer.items()}

        committed: dict[str, dict[tuple[str, int], int]] = {}
        for group, names in groups.items():
            wanted = [tp for tp in every if tp.topic in names]
            answer = admin.list_group_offsets({group: wanted}).get(group, {})
            committed[group] = {
                (tp.topic, tp.partition): int(meta.offset)
                for tp, meta in answer.items()
                if meta is not None and meta.offset >= 0
            }
        return Offsets(
            partitions=partitions,
            start=offsets(OffsetSpec.EARLIEST),
            end=offsets(OffsetSpec.LATEST),
            committed=committed,
        )

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


class LagExporter:
    """Polls the broker and keeps the gauges; knows when its figures are too old to trust."""

    def __init__(
        self,
        read: Callable[[Mapping[str, tuple[str, ...]]], Offsets],
        *,
        groups: Mapping[str, tuple[str, ...]] | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        reset: Callable[[], None] = lambda: None,
    ) -> None:
        self._read = read
        self._reset = reset
        self.groups = dict(groups if groups is not None else consumer_groups())
        self.poll_seconds = poll_seconds
        self.last_success: float | None = None

    def poll(self) -> list[PartitionLag]:
        """One read; on failure count it, drop the client, and keep the last figures."""
        try:
            found = lags(self.groups, self._read(self.groups))
        except Exception:
            READ_FAILURES.inc()
            log.exception("reading consumer offsets failed")
            self._reset()
            return []
        for item in found:
            CONSUMER_LAG.labels(item.group, item.topic, str(item.partition)).set(item.lag)
        self.last_success = time.monotonic()
        return found

    def ready(self) -> bool:
        if self.last_success is None:
            return False
        return time.monotonic() - self.last_success < STALE_AFTER_POLLS * self.poll_seconds

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll()
            stop.wait(self.poll_seconds)


def create_app(exporter: LagExporter) -> FastAPI:
    """Probes and /metrics; the polling runs in a thread for the app's lifetime."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = threading.Thread(target=exporter.run, args=(stop,), name="lag", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=exporter.poll_seconds + 5)

    app = FastAPI(title="taskstream lag exporter", lifespan=lifespan)

    @app.get(contract.HEALTH_PATH)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(contract.READY_PATH)
    def readyz(response: Response) -> dict[str, str]:
        if exporter.ready():
            return {"status": "ok"}
        response.status_code = 503
        return {"status": "no recent read of the broker"}

    @app.get(contract.METRICS_PATH)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def create_from_environment() -> FastAPI:
    settings = KafkaSettings.from_environment()
    broker = BrokerOffsets(settings)
    exporter = LagExporter(broker.read, poll_seconds=settings.poll_seconds, reset=broker.close)
    return create_app(exporter)
