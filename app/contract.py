"""The names the service and the platform agree on: processes, ports, app ids, topics, settings."""

from __future__ import annotations

from dataclasses import dataclass

SETTINGS_PREFIX = "TASKSTREAM_"

# Settings every process reads (see app.settings.Settings); the platform sets them by these names.
ENV_DATABASE_URL = "TASKSTREAM_DATABASE_URL"
# Pooled connections per process; the engine may open as many again in overflow (app.db).
ENV_DATABASE_POOL_SIZE = "TASKSTREAM_DATABASE_POOL_SIZE"
ENV_JWT_SECRET = "TASKSTREAM_JWT_SECRET"  # noqa: S105  (a variable name)
ENV_WEBHOOK_SECRET_KEY = "TASKSTREAM_WEBHOOK_SECRET_KEY"  # noqa: S105  (a variable name)
ENV_ENVIRONMENT = "TASKSTREAM_ENVIRONMENT"
ENV_EVENT_BUS = "TASKSTREAM_EVENT_BUS"
ENV_DAPR_HTTP_ENDPOINT = "TASKSTREAM_DAPR_HTTP_ENDPOINT"
ENV_PUBSUB_NAME = "TASKSTREAM_PUBSUB_NAME"
ENV_LOG_LEVEL = "TASKSTREAM_LOG_LEVEL"
ENV_CORS_ORIGINS = "TASKSTREAM_CORS_ORIGINS"
# A JSON list of networks whose X-Forwarded-For the API believes: the edge's addresses.
ENV_TRUSTED_PROXIES = "TASKSTREAM_TRUSTED_PROXIES"
# "programmatic" (GET /dapr/subscribe lists them) or "declarative" (Subscription resources
# exist, as in the cluster, so the worker lists none and Dapr does not see them twice).
ENV_DAPR_SUBSCRIPTIONS = "TASKSTREAM_DAPR_SUBSCRIPTIONS"
# Tracing: the OTLP/HTTP base URL (a collector's port 4318); unset, no process traces.
ENV_OTLP_ENDPOINT = "TASKSTREAM_OTLP_ENDPOINT"
# Dapr's own names, not ours: daprd reads the same variables (standalone mode) and sends or
# expects the token in this header. APP_API_TOKEN: daprd -> app; DAPR_API_TOKEN: app -> daprd.
ENV_APP_API_TOKEN = "APP_API_TOKEN"  # noqa: S105  (a variable name)
ENV_DAPR_API_TOKEN = "DAPR_API_TOKEN"  # noqa: S105  (a variable name)
DAPR_API_TOKEN_HEADER = "dapr-api-token"  # noqa: S105  (a header name)

# Metric names the platform's alerts and dashboards query.
METRIC_HTTP_REQUESTS = "taskstream_http_requests_total"
METRIC_HTTP_LATENCY = "taskstream_http_request_duration_seconds"
METRIC_OUTBOX_OLDEST_PENDING = "taskstream_outbox_oldest_pending_seconds"
# The lag exporter's: messages a consumer group has yet to commit, per topic and partition.
METRIC_CONSUMER_LAG = "taskstream_consumer_group_lag"
METRIC_CONSUMER_LAG_READ_FAILURES = "taskstream_consumer_lag_read_failures_total"

# The lag exporter reads the broker itself (no sidecar): where it is and who it is. The
# credential variables are the ones daprd reads too (infra/kafka_access.py).
ENV_KAFKA_BROKERS = "TASKSTREAM_KAFKA_BROKERS"
ENV_KAFKA_USERNAME = "TASKSTREAM_KAFKA_USERNAME"
ENV_KAFKA_PASSWORD = "TASKSTREAM_KAFKA_PASSWORD"  # noqa: S105 - a variable name
ENV_KAFKA_CA_CERT = "TASKSTREAM_KAFKA_CA_CERT"
ENV_LAG_POLL_SECONDS = "TASKSTREAM_LAG_POLL_SECONDS"

# User webhooks leave only over HTTPS on this port, and never to these IPv4 ranges (IANA
# special-purpose, multicast and reserved): the sender refuses them and the notifier's
# egress NetworkPolicy excepts them.
WEBHOOK_PORT = 443
NON_PUBLIC_IPV4_RANGES: tuple[str, ...] = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)

PUBSUB_NAME = "taskstream-pubsub"
DEAD_LETTER_SUFFIX = "-dlq"


@dataclass(frozen=True)
class Topic:
    """A pub/sub topic and the dead-letter topic its subscribers fall back to."""

    name: str
    partitions: int
    retention_hours: int

    @property
    def dead_letter(self) -> str:
        return f"{self.name}{DEAD_LETTER_SUFFIX}"


TASK_EVENTS = Topic(name="task-events", partitions=6, retention_hours=168)
REMINDERS = Topic(name="reminders", partitions=6, retention_hours=168)
TOPICS: tuple[Topic, ...] = (TASK_EVENTS, REMINDERS)


@dataclass(frozen=True)
class Subscription:
    """One worker's subscription to one topic, delivered to an HTTP route of that worker."""

    topic: Topic
    route: str

    @property
    def bulk_route(self) -> str:
        """Where daprd delivers this subscription's events in batches (bulk subscribe)."""
        return f"{self.route}/bulk"


# Bulk subscribe: daprd hands a worker up to this many events of one partition per call,
# waiting at most this long to fill a batch. The wait bounds the latency a quiet stream
# pays; the count bounds one transaction.
BULK_MAX_MESSAGES = 100
BULK_MAX_AWAIT_MS = 10


def bulk_subscribe_spec() -> dict[str, object]:
    """A subscription's `bulkSubscribe` field, the same in declarative and programmatic
    subscriptions (dapr/dapr v1.18.3 pkg/apis/subscriptions/v2alpha1 BulkSubscribe)."""
    return {
        "enabled": True,
        "maxMessagesCount": BULK_MAX_MESSAGES,
        "maxAwaitDurationMs": BULK_MAX_AWAIT_MS,
    }


@dataclass(frozen=True)
class Process:
    """A deployable process of the one image: its arguments, port and Dapr identity."""

    name: str
    # The image's ENTRYPOINT is the `taskstream` CLI; these are the arguments it is given
    # (the manifest's `args`, the dev stack's argv after the CLI), never the program itself.
    args: tuple[str, ...]
    port: int
    app_id: str
    subscriptions: tuple[Subscription, ...] = ()
    serves_http_api: bool = False
    # Whether it reads app.settings.Settings, whose TASKSTREAM_* variables the platform sets;
    # one that does not must be given only `variables`.
    reads_settings: bool = True
    # Variables it reads by name, outside Settings.
    variables: tuple[str, ...] = ()

    @property
    def dead_letter_route(self) -> str:
        return DEAD_LETTER_ROUTE


DEAD_LETTER_ROUTE = "/events/dead-letter"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
HTTP_PORT = 8000
# What the edge routes to the API: the REST API always, its docs only when a stack says so.
# /metrics, /healthz and /readyz stay in-cluster (probes and the ServiceMonitor reach pods).
API_PATH = "/api"
DOCS_PATHS: tuple[str, ...] = ("/docs", "/redoc", "/openapi.json")

API = Process(
    name="api",
    args=("api",),
    port=HTTP_PORT,
    app_id="taskstream-api",
    serves_http_api=True,
)
RELAY = Process(
    name="relay",
    args=("relay",),
    port=HTTP_PORT,
    app_id="taskstream-relay",
)
NOTIFIER = Process(
    name="notifier",
    args=("worker", "notifier"),
    port=HTTP_PORT,
    app_id="taskstream-notifier",
    subscriptions=(
        Subscription(topic=TASK_EVENTS, route="/events/task-events"),
        Subscription(topic=REMINDERS, route="/events/reminders"),
    ),
)
RECURRER = Process(
    name="recurrer",
    args=("worker", "recurrer"),
    port=HTTP_PORT,
    app_id="taskstream-recurrer",
    subscriptions=(Subscription(topic=TASK_EVENTS, route="/events/task-events"),),
)
PROCESSES: tuple[Process, ...] = (API, RELAY, NOTIFIER, RECURRER)
# Reads every consumer group's committed offsets and the topics' ends, and exports the lag.
# No Dapr app: it talks to the broker as its own read-only user, so it is not in PROCESSES.
# No Settings either: those demand a database and secrets it never has.
LAG_EXPORTER = Process(
    name="lag-exporter",
    args=("lag-exporter",),
    port=HTTP_PORT,
    app_id="taskstream-lag-exporter",
    reads_settings=False,
    variables=(
        ENV_KAFKA_BROKERS,
        ENV_KAFKA_USERNAME,
        ENV_KAFKA_PASSWORD,
        ENV_KAFKA_CA_CERT,
        ENV_LAG_POLL_SECONDS,
        ENV_LOG_LEVEL,
    ),
)
MIGRATE_ARGS: tuple[str, ...] = ("migrate",)
# Run as the database's admin before MIGRATE_ARGS, followed by `--role <application role>`.
DB_GRANT_ARGS: tuple[str, ...] = ("db-grant",)
