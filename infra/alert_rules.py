"""PrometheusRule groups for the service, the event pipeline and the broker (pure data)."""

from __future__ import annotations

from typing import Any

from app import contract

# Metric names the alerts and dashboards read. The HTTP ones come from app/metrics.py and
# the dapr_/redpanda_ ones from the sidecar and broker; the outbox gauge is the relay's.
HTTP_REQUESTS = contract.METRIC_HTTP_REQUESTS
HTTP_LATENCY = contract.METRIC_HTTP_LATENCY
OUTBOX_OLDEST_PENDING = contract.METRIC_OUTBOX_OLDEST_PENDING
DAPR_PUBSUB_INGRESS = "dapr_component_pubsub_ingress_count"
REDPANDA_MAX_OFFSET = "redpanda_kafka_max_offset"
REDPANDA_UNDER_REPLICATED = "redpanda_kafka_under_replicated_replicas"

Rule = dict[str, Any]


def _alert(name: str, expr: str, duration: str, severity: str, summary: str) -> Rule:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary},
    }


def rule_groups(namespace: str) -> list[dict[str, Any]]:
    """The groups of the taskstream PrometheusRule, scoped to the app namespace."""
    ns = f'namespace="{namespace}"'
    dead_letters = "|".join(topic.dead_letter for topic in contract.TOPICS)
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
                    f"max({OUTBOX_OLDEST_PENDING}{{{ns}}}) > 60",
                    "5m",
                    "critical",
                    "The oldest unpublished outbox event is more than a minute old.",
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
