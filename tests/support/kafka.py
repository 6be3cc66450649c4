"""A throwaway single-node Apache Kafka broker (KRaft) on loopback, for integration tests.

The jars come from tools/engines/kafka.sh (the per-machine cache). The broker behaves like
the platform's Redpanda where it matters to us: topics are never auto-created, so tests
create every topic and dead-letter topic up front, as the infra does; and (by default) it
takes only SASL_SSL with SCRAM, enforcing the platform's users and ACLs
(tests/support/kafka_security.py). Its own helpers connect as the superuser.

    with KafkaBroker() as broker:
        broker.create_topics([TASK_EVENTS])          # + task-events-dlq
        ... point Dapr at broker.bootstrap_servers ...
        messages = broker.consume("task-events-dlq", 1, timeout=30)
        broker.stop(); broker.start()                # outage on the same ports and data
"""

from __future__ import annotations

import base64
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.contract import DEAD_LETTER_SUFFIX, Topic

from .engines import java_path, kafka_libs
from .kafka_security import LISTENER, BrokerSecurity, acl_bindings
from .ports import LOOPBACK, free_ports
from .process import EngineProcess

# librdkafka prints every refused connect (broker down or restarting, which outage tests
# do on purpose) to stderr; keep only critical lines. Failures still raise in Python.
CLIENT_LOG_LEVEL = 2
HOURS_MS = 3600 * 1000
# client_config(user=SUPERUSER) connects as the broker's superuser (the default).
SUPERUSER = "taskstream-admin"


class EngineError(RuntimeError):
    """An engine failed to start or to do what a test asked."""


@dataclass(frozen=True)
class ConsumedMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes] = field(default_factory=dict)


def _kafka_uuid() -> str:
    """A cluster id in Kafka's Uuid text form (URL-safe base64 of 16 bytes, unpadded)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


@dataclass(frozen=True)
class _TopicSpec:
    name: str
    partitions: int
    retention_ms: int


def platform_topic_specs(topics: Iterable[Topic]) -> list[_TopicSpec]:
    """Name, partitions and retention of each topic and its dead-letter topic.

    Taken from the platform's own rules when the infra package is importable; otherwise
    the dead-letter topic mirrors its topic.
    """
    topics = tuple(topics)
    try:
        from infra.components.topics import topic_specs
    except ImportError:
        specs: list[_TopicSpec] = []
        for topic in topics:
            retention = topic.retention_hours * HOURS_MS
            specs.append(_TopicSpec(topic.name, topic.partitions, retention))
            specs.append(_TopicSpec(topic.dead_letter, topic.partitions, retention))
        return specs
    return [_TopicSpec(s.name, s.partitions, s.retention_ms) for s in topic_specs(topics)]


class KafkaBroker(EngineProcess):
    """One KRaft broker+controller process bound to 127.0.0.1 on free ports."""

    stop_timeout = 30.0  # a controlled shutdown flushes and closes every partition

    def __init__(
        self,
        *,
        libs: Path | None = None,
        heap_mb: int = 512,
        startup_timeout: float = 90.0,
        extra_config: Mapping[str, str] | None = None,
        secure: bool = True,
    ) -> None:
        found = libs or kafka_libs()
        if found is None:
            raise EngineError("Kafka jars not provisioned: run tools/engines/kafka.sh")
        java = java_path()
        if java is None:
            raise EngineError("no java found (JAVA_HOME or PATH)")
        self.libs = found
        self.java = java
        self.heap_mb = heap_mb
        self.startup_timeout = startup_timeout
        self.port, self.controller_port = free_ports(2)
        self.workdir = Path(tempfile.mkdtemp(prefix="taskstream-kafka-"))
        self.data_dir = self.workdir / "data"
        self.config_path = self.workdir / "server.properties"
        self.log_path = self.workdir / "broker.log"
        self._extra = dict(extra_config or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._formatted = False
        self.security = BrokerSecurity.create(self.workdir) if secure else None
        self._acls_created = False

    # -- lifecycle -------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self) -> None:
        """Start (or restart, on the same ports and data dir) and wait until it serves."""
        if self.running:
            return
        if not self._formatted:
            self._write_config()
            self._format_storage()
            self._formatted = True
        log = self.log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                [*self._java_command(), "kafka.Kafka", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_ready()
        if self.security is not None and not self._acls_created:
            self._create_acls()
            self._acls_created = True

    # -- topics and messages ---------------------------------------------------------

    def client_config(self, *, user: str | None = SUPERUSER, **extra: object) -> dict[str, object]:
        """Base confluent-kafka config for this broker (bootstrap servers, quiet logs), as
        `user` (a platform user's name, the superuser, or None for no SASL at all)."""
        config: dict[str, object] = {
            "bootstrap.servers": self.bootstrap_servers,
            "log_level": CLIENT_LOG_LEVEL,
            "log.connection.close": False,
        }
        if self.security is not None:
            creds = None
            if user == SUPERUSER:
                creds = self.security.admin
            elif user is not None:
                creds = self.security.users[user]
            config.update(self.security.client_config(creds))
        return {**config, **extra}

    def dapr_env(self, app_id: str) -> dict[str, str]:
        """The Kafka credentials and CA `app_id`'s daprd reads (empty on a plaintext broker)."""
        return {} if self.security is None else self.security.dapr_env(app_id)

    def admin(self):  # type: ignore[no-untyped-def]
        """A confluent-kafka AdminClient for this broker."""
        from confluent_kafka.admin import AdminClient

        return AdminClient(self.client_config())

    def create_topics(
        self,
        topics: Iterable[Topic],
        *,
        dead_letters: bool = True,
        timeout: float = 30.0,
    ) -> list[str]:
        """Create each contract topic and (by default) its dead-letter topic.

        Partitions and retention.ms follow the platform's own topic specs
        (infra.components.topics.topic_specs, the rules its rpk job applies), so a test
        sees the same layout as the cluster. Waits until every partition has a leader.
        Returns the names created.
        """
        from confluent_kafka.admin import NewTopic

        wanted = [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=1,
                config={"retention.ms": str(spec.retention_ms)},
            )
            for spec in platform_topic_specs(topics)
            if dead_letters or not spec.name.endswith(DEAD_LETTER_SUFFIX)
        ]
        admin = self.admin()
        futures = admin.create_topics(wanted, operation_timeout=timeout, request_timeout=timeout)
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
            except Exception as exc:
                raise EngineError(f"creating topic {name!r} failed: {exc}") from exc
        names = [t.topic for t in wanted]
        self._wait_for_leaders(admin, names, timeout)
        return names

    def produce(
        self,
        topic: str,
        value: bytes | str,
        *,
        key: bytes | str | None = None,
        headers: Mapping[str, bytes | str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Write one message straight to the broker (bypassing Dapr), synchronously."""
        from confluent_kafka import Producer

        producer = Producer(self.client_config(acks="all"))
        errors: list[object] = []
        producer.produce(
            topic,
            value=value,
            key=key,
            headers=list((headers or {}).items()),
            on_delivery=lambda err, _msg: errors.append(err) if err else None,
        )
        if producer.flush(timeout) > 0:
            raise EngineError(f"produce to {topic!r} timed out after {timeout}s")
        if errors:
            raise EngineError(f"produce to {topic!r} failed: {errors[0]}")

    def consume(
        self, topic: str, n: int, timeout: float = 30.0, *, group: str | None = None
    ) -> list[ConsumedMessage]:
        """Read up to `n` messages of `topic` from the beginning, waiting at most `timeout`.

        Uses a fresh consumer group by default, so it never disturbs (or is disturbed by)
        the groups Dapr uses. Returns what arrived; the caller asserts on the count.
        """
        from confluent_kafka import Consumer, KafkaError

        consumer = Consumer(
            self.client_config(
                **{
                    "group.id": group or f"taskstream-test-{uuid.uuid4().hex[:12]}",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                    "session.timeout.ms": 10000,
                }
            )
        )
        received: list[ConsumedMessage] = []
        try:
            consumer.subscribe([topic])
            deadline = time.monotonic() + timeout
            while len(received) < n and time.monotonic() < deadline:
                msg = consumer.poll(min(0.5, max(0.0, deadline - time.monotonic())))
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise EngineError(f"consuming {topic!r} failed: {err}")
                received.append(
                    ConsumedMessage(
                        topic=msg.topic(),
                        partition=msg.partition(),
                        offset=msg.offset(),
                        key=msg.key(),
                        value=msg.value(),
                        headers={k: v for k, v in (msg.headers() or [])},
                    )
                )
        finally:
            consumer.close()
        return received

    # -- internals -------------------------------------------------------------------

    def _java_command(self) -> list[str]:
        return [
            self.java,
            f"-Xms{min(256, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration={(self.workdir / 'log4j.properties').as_uri()}",
            f"-Dkafka.logs.dir={self.workdir}",
            "-cp",
            f"{self.libs}/*",
        ]

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        listener = "PLAINTEXT" if self.security is None else LISTENER
        config = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{LOOPBACK}:{self.controller_port}",
            "listeners": (
                f"{listener}://{LOOPBACK}:{self.port},CONTROLLER://{LOOPBACK}:{self.controller_port}"
            ),
            "advertised.listeners": f"{listener}://{LOOPBACK}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": listener,
            "listener.security.protocol.map": f"{listener}:{listener},CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # Like Redpanda (auto_create_topics_enabled=false): topics exist only if created.
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Small footprint on a shared 2-core machine.
            "num.network.threads": "2",
            "num.io.threads": "2",
            "background.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "log.cleaner.threads": "1",
        }
        if self.security is not None:
            config.update(self.security.server_config())
        config.update(self._extra)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        (self.workdir / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka.request.logger=WARN\n"
            "log4j.logger.org.apache.kafka.controller=INFO\n"
            "log4j.logger.state.change.logger=WARN\n"
        )

    def _format_storage(self) -> None:
        result = subprocess.run(
            [
                *self._java_command(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                _kafka_uuid(),
                "-c",
                str(self.config_path),
                *(self.security.scram_arguments() if self.security is not None else []),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise EngineError(
                f"kafka storage format failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )

    def _create_acls(self, timeout: float = 30.0) -> None:
        """Grant the platform's users what the cluster's rpk Job grants them."""
        admin = self.admin()  # kept referenced: a collected client fails its futures
        futures = admin.create_acls(acl_bindings(), request_timeout=timeout)
        for binding, future in futures.items():
            try:
                future.result(timeout=timeout)
            except Exception as exc:
                raise EngineError(f"creating ACL {binding} failed: {exc}") from exc

    def _wait_ready(self) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient(self.client_config(**{"socket.connection.setup.timeout.ms": 2000}))
        deadline = time.monotonic() + self.startup_timeout
        last_error: object = None
        while time.monotonic() < deadline:
            if not self.running:
                raise EngineError(f"kafka broker exited during start-up:\n{self.log_tail()}")
            try:
                metadata = admin.list_topics(timeout=2)
                if metadata.brokers:
                    return
            except Exception as exc:
                last_error = exc
            time.sleep(0.3)
        self.stop()
        raise EngineError(
            f"kafka broker not ready within {self.startup_timeout}s ({last_error}):\n"
            f"{self.log_tail()}"
        )

    def _wait_for_leaders(self, admin, names: list[str], timeout: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending and time.monotonic() < deadline:
            metadata = admin.list_topics(timeout=5)
            for name in list(pending):
                topic = metadata.topics.get(name)
                if (
                    topic is not None
                    and topic.error is None
                    and topic.partitions
                    and all(p.leader >= 0 for p in topic.partitions.values())
                ):
                    pending.discard(name)
            if pending:
                time.sleep(0.2)
        if pending:
            raise EngineError(f"topics without leaders after {timeout}s: {sorted(pending)}")
