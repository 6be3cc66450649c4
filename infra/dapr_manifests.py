"""Dapr resource manifests as plain dicts, shared by the cluster program and local daprd files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app import contract
from infra import kafka_access

Manifest = dict[str, Any]

CONFIGURATION_NAME = "taskstream"
RESILIENCY_NAME = "taskstream-resiliency"
# 1 MiB, Kafka's own default; the docs' sample of 1024 would reject almost every event.
MAX_MESSAGE_BYTES = 1024 * 1024


def _metadata(name: str, namespace: str | None) -> dict[str, str]:
    # Local daprd resource files carry no namespace; the cluster's do.
    return {"name": name} if namespace is None else {"name": name, "namespace": namespace}


def app_ids(processes: Sequence[contract.Process] = contract.PROCESSES) -> list[str]:
    """The Dapr app ids of the processes that talk to pub/sub, sorted for stable diffs."""
    return sorted(process.app_id for process in processes)


def pubsub_app_ids() -> list[str]:
    """The app ids whose sidecars load the pub/sub Component: those with an event-bus user.

    The API only writes the outbox, so its sidecar holds no broker credentials at all.
    """
    return sorted(user.name for user in kafka_access.users())


def pubsub_component(
    *, brokers: str, scopes: Sequence[str], namespace: str | None = None
) -> Manifest:
    """The pubsub.kafka Component: SCRAM over TLS, each sidecar as its own user.

    Field names are pubsub.kafka's (components-contrib v1.18.4 common/component/kafka/
    metadata.go). The credentials and the CA come from daprd's environment (`envRef`), which
    the injector fills from the app's own Secret (`dapr.io/env-from-secret`), so one
    Component serves every app without any credential in it.
    """
    from_env = {
        "saslUsername": kafka_access.ENV_USERNAME,
        "saslPassword": kafka_access.ENV_PASSWORD,
        "caCert": kafka_access.ENV_CA_CERT,
    }
    fields = {
        "brokers": brokers,
        "authType": "password",
        "saslMechanism": kafka_access.DAPR_SASL_MECHANISM,
        # Each app is its own consumer group so notifier and recurrer both see every event;
        # one shared literal would split the stream between them.
        "consumerGroup": "{appID}",
        "clientID": "{appID}",
        "initialOffset": "oldest",
        "maxMessageBytes": str(MAX_MESSAGE_BYTES),
        "consumeRetryInterval": "200ms",
    }
    return {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": _metadata(contract.PUBSUB_NAME, namespace),
        "spec": {
            "type": "pubsub.kafka",
            "version": "v1",
            "metadata": [{"name": key, "value": value} for key, value in fields.items()]
            + [{"name": key, "envRef": variable} for key, variable in from_env.items()],
        },
        "scopes": list(scopes),
    }


def subscriptions(process: contract.Process, *, namespace: str | None = None) -> list[Manifest]:
    """Declarative v2alpha1 Subscriptions of one worker: each topic, and its dead-letter topic."""
    manifests: list[Manifest] = []
    for subscription in process.subscriptions:
        topic = subscription.topic
        manifests.append(
            _subscription(
                name=f"{process.name}-{topic.name}",
                topic=topic.name,
                route=subscription.bulk_route,
                dead_letter_topic=topic.dead_letter,
                app_id=process.app_id,
                namespace=namespace,
            )
        )
        # The worker counts what landed in the dead-letter topic (a metric and an alert).
        manifests.append(
            _subscription(
                name=f"{process.name}-{topic.dead_letter}",
                topic=topic.dead_letter,
                route=process.dead_letter_route,
                dead_letter_topic=None,
                app_id=process.app_id,
                namespace=namespace,
            )
        )
    return manifests


def _subscription(
    *,
    name: str,
    topic: str,
    route: str,
    dead_letter_topic: str | None,
    app_id: str,
    namespace: str | None,
) -> Manifest:
    spec: dict[str, Any] = {
        "pubsubname": contract.PUBSUB_NAME,
        "topic": topic,
        "routes": {"default": route},
    }
    if dead_letter_topic is not None:
        spec["deadLetterTopic"] = dead_letter_topic
        # Up to a batch of one partition per call, applied in one transaction: one event
        # at a time per partition capped the path near 320 events/s (issue 18).
        spec["bulkSubscribe"] = contract.bulk_subscribe_spec()
    else:
        # A dead-letter topic can hold anything, even bytes that are no CloudEvent; raw
        # delivery keeps daprd from retrying such a message in place forever.
        spec["metadata"] = {"rawPayload": "true"}
    return {
        "apiVersion": "dapr.io/v2alpha1",
        "kind": "Subscription",
        "metadata": _metadata(name, namespace),
        "spec": spec,
        "scopes": [app_id],
    }


def resiliency(*, scopes: Sequence[str], namespace: str | None = None) -> Manifest:
    """Retries, timeouts and a circuit breaker for publishing and consuming.

    Without an inbound retry policy Dapr dead-letters an event on its first failed delivery.
    """
    return {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Resiliency",
        "metadata": _metadata(RESILIENCY_NAME, namespace),
        "spec": {
            "policies": {
                "timeouts": {"publish": "5s", "consume": "30s"},
                "retries": {
                    "publish": {"policy": "exponential", "maxInterval": "5s", "maxRetries": 5},
                    # Bounded so a poison event reaches the dead-letter topic in about a minute.
                    "consume": {"policy": "exponential", "maxInterval": "15s", "maxRetries": 8},
                },
                "circuitBreakers": {
                    "broker": {
                        "maxRequests": 1,
                        "interval": "30s",
                        "timeout": "30s",
                        "trip": "consecutiveFailures >= 5",
                    },
                },
            },
            "targets": {
                "components": {
                    contract.PUBSUB_NAME: {
                        "outbound": {
                            "timeout": "publish",
                            "retry": "publish",
                            "circuitBreaker": "broker",
                        },
                        "inbound": {"timeout": "consume", "retry": "consume"},
                    },
                },
            },
        },
        "scopes": list(scopes),
    }


def configuration(*, namespace: str | None = None, tracing: Manifest | None = None) -> Manifest:
    """The app Configuration the sidecars load: metrics on; `tracing` as given, else spans
    sampled at 10 % with nowhere to go (the local daprd files)."""
    return {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Configuration",
        "metadata": _metadata(CONFIGURATION_NAME, namespace),
        "spec": {
            "metrics": {"enabled": True},
            "tracing": tracing if tracing is not None else {"samplingRate": "0.1"},
        },
    }


def all_manifests(
    *, brokers: str, namespace: str | None = None, tracing: Manifest | None = None
) -> list[Manifest]:
    """Every Dapr resource the app needs, in apply order."""
    scopes = app_ids()
    manifests = [
        configuration(namespace=namespace, tracing=tracing),
        pubsub_component(brokers=brokers, scopes=pubsub_app_ids(), namespace=namespace),
        resiliency(scopes=scopes, namespace=namespace),
    ]
    for process in contract.PROCESSES:
        manifests.extend(subscriptions(process, namespace=namespace))
    return manifests
