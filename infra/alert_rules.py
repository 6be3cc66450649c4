"""PrometheusRule groups for the service, the event pipeline and the broker (pure data)."""

from __future__ import annotations

from typing import Any

from app import contract

# Metric names the alerts and dashboards read. The HTTP ones come from app/metrics.py and
# the dapr_/redpanda_ ones from the sidecar and broker; the outbox gauge is the relay's.
HTTP_REQUESTS = contract.METRIC_HTTP_REQUESTS
HTTP_LATENCY = contract.METRIC_HTTP_LATENCY
OUTBOX_OLDEST_PENDING = contract.METRIC_OUTBOX_OLDEST_PENDING
CONSUMER_LAG = contract.METRIC_CONSUMER_LAG
CONSUMER_LAG_READ_FAILURES = contract.METRIC_CONSUMER_LAG_READ_FAILURES
DAPR_PUBSUB_INGRESS = "dapr_component_pubsub_ingress_count"
REDPANDA_MAX_OFFSET = "redpanda_kafka_max_offset"
REDPANDA_UNDER_REPLICATED = "redpanda_kafka_under_replicated_replicas"

Rule = dict[str, Any]

# A group is behind when its lag on a topic is above this many messages for LAG_FOR and has
# not shrunk over LAG_TREND. A burst the workers (and KEDA) are working through shrinks, so
# it does not page; a backlog that stays or grows does. Twice the scaler's per-replica
# target (infra/components/autoscaling.py) is a backlog a scaled-out group should clear.
LAG_THRESHOLD = 1000
LAG_FOR = "10m"
LAG_TREND = "10m"
# Where each alert's runbook is: docs/operations.md, by section anchor.
RUNBOOK = "docs/operations.md"


def _alert(
    name: str, expr: str, duration: str, severity: str, summary: str, runbook: str | None = None
) -> Rule:
    annotations = {"summary": summary}
    if runbook is not None:
        annotations["runbook_url"] = f"{RUNBOOK}#{runbook}"
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": annotations,
    }


def consumer_lag_expressions(namespace: str) -> dict[str, str]:
    """The consumer-lag alerts' expressions, by alert name; Prometheus's own PromQL engine
    evaluates them in tests/infra/test_alert_rules_promql.py."""
    ns = f'namespace="{namespace}"'
    # Each exporter replica reports every partition: one value per partition, then add up.
    lag = f"sum by (group, topic) (max by (group, topic, partition) ({CONSUMER_LAG}{{{ns}}}))"
    return {
        # Above the threshold now, and the least-squares slope over LAG_TREND is not
        # negative: neither a passing burst nor a backlog being worked off fires. The sum is
        # an expression, not a selector, so its range is a subquery (one point a minute).
        "TaskstreamConsumerFallingBehind": (
            f"({lag} > {LAG_THRESHOLD}) and (deriv(({lag})[{LAG_TREND}:1m]) >= 0)"
        ),
        # Without reads the gauges keep their last values, so the alert above would go
        # quiet exactly when it cannot see: say so instead.
        "TaskstreamConsumerLagUnknown": (
            f"absent({CONSUMER_LAG}{{{ns}}}) or "
            f"sum(rate({CONSUMER_LAG_READ_FAILURES}{{{ns}}}[5m])) > 0"
        ),
    }


def outbox_expressions(namespace: str) -> dict[str, str]:
    """The outbox alerts' expressions, by alert name; evaluated like the lag alerts'."""
    gauge = f'{OUTBOX_OLDEST_PENDING}{{namespace="{namespace}"}}'
    return {
        "TaskstreamOutboxLagging": f"max({gauge}) > 60",
        # Only the relay exports the gauge (0 with the outbox empty). With every relay pod
        # gone the series is gone too and the alert above can never fire, just when nothing
        # publishes: say so instead.
        "TaskstreamOutboxUnknown": f"absent({gauge})",
    }


def rule_groups(namespace: str) -> list[dict[str, Any]]:
    """The groups of the taskstream PrometheusRule, scoped to the app namespace."""
    ns = f'namespace="{namespace}"'
    dead_letters = "|".join(topic.dead_letter for topic in contract.TOPICS)
    lag_alerts = consumer_lag_expressions(namespace)
    outbox_alerts = outbox_expressions(namespace)
    return [
        {
            "name": "taskstream-api",
            "rules": [
                _alert(
                    "TaskstreamApiHighErrorRate",
                    f'sum(rate({HTTP_REQUESTS}{{{ns},status=~"5.."}}[5m]))'
                    f" / sum(rate({HTTP_REQUESTS}{{{ns}}}[5m])) > 0.05",
                    "10m",
                    "critical",
                    "More than 5% of API requests fail with a 5xx.",
                ),
                _alert(
                    "TaskstreamApiSlow",
                    "histogram_quantile(0.95, sum by (le) "
                    f"(rate({HTTP_LATENCY}_bucket{{{ns}}}[5m]))) > 0.5",
                    "15m",
                    "warning",
                    "API p95 latency is above 500 ms.",
                ),
            ],
        },
        {
            "name": "taskstream-events",
            "rules": [
                _alert(
                    "TaskstreamOutboxLagging",
                    outbox_alerts["TaskstreamOutboxLagging"],
                    "5m",
                    "critical",
                    "The oldest unpublished outbox event is more than a minute old.",
                    "the-relay-is-behind",
                ),
                _alert(
                    "TaskstreamOutboxUnknown",
                    outbox_alerts["TaskstreamOutboxUnknown"],
                    "5m",
                    "critical",
                    "No relay reports the outbox's age; the outbox alert is blind and "
                    "events may not be published.",
                    "the-relay-is-behind",
                ),
                _alert(
                    "TaskstreamConsumerRetries",
                    f"sum by (app_id, topic) (rate({DAPR_PUBSUB_INGRESS}{{{ns},"
                    'process_status="retry"}[10m])) > 0.1',
                    "15m",
                    "warning",
                    "A worker keeps asking for redelivery of events.",
                ),
                _alert(
                    "TaskstreamConsumerDrops",
                    f"sum by (app_id, topic) (increase({DAPR_PUBSUB_INGRESS}{{{ns},"
                    'process_status="drop"}[15m])) > 0',
                    "0m",
                    "warning",
                    "A worker dropped events to the dead-letter topic.",
                ),
                _alert(
                    "TaskstreamDeadLettersGrowing",
                    f'sum by (redpanda_topic) (increase({REDPANDA_MAX_OFFSET}{{redpanda_topic=~"'
                    f'{dead_letters}"}}[30m])) > 0',
                    "0m",
                    "warning",
                    "Events are accumulating in a dead-letter topic.",
                ),
            ],
        },
        {
            "name": "taskstream-consumers",
            "rules": [
                _alert(
                    "TaskstreamConsumerFallingBehind",
                    lag_alerts["TaskstreamConsumerFallingBehind"],
                    LAG_FOR,
                    "critical",
                    f"A consumer group is more than {LAG_THRESHOLD} messages behind on a "
                    "topic and not catching up.",
                    "a-stuck-consumer",
                ),
                _alert(
                    "TaskstreamConsumerLagUnknown",
                    lag_alerts["TaskstreamConsumerLagUnknown"],
                    "15m",
                    "warning",
                    "The lag exporter cannot read consumer offsets; lag alerts are blind.",
                    "a-stuck-consumer",
                ),
            ],
        },
        {
            "name": "taskstream-broker",
            "rules": [
                _alert(
                    "RedpandaUnderReplicatedPartitions",
                    f"sum({REDPANDA_UNDER_REPLICATED}) > 0",
                    "10m",
                    "critical",
                    "Redpanda has under-replicated partitions; a broker is down or lagging.",
                ),
            ],
        },
    ]
