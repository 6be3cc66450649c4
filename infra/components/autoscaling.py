"""KEDA: the workers scale on their consumer group's lag, not on CPU alone.

A worker that is autoscaled (maxReplicas > replicas) and consumes topics gets a ScaledObject
instead of a HorizontalPodAutoscaler; KEDA creates and owns the HPA behind it. Its triggers
are KEDA's Kafka scaler, one per topic the worker reads, and CPU as before. The scaler reads
offsets as its own SCRAM user (infra/kafka_access.py: describe only), through a
TriggerAuthentication over that user's Secret and the brokers' CA.

Field names: KEDA 2.20.2 (kedacore/charts keda/templates/crds, the ScaledObject and
TriggerAuthentication CRDs; kedacore/keda pkg/scalers/kafka_scaler.go for the trigger's
metadata and auth parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from app import contract
from infra import kafka_access, versions
from infra.components import helm
from infra.components.placement import InCluster, labels
from infra.config_model import ServiceConfig

Manifest = dict[str, Any]

NAMESPACE = "keda"
RELEASE = "keda"
API_VERSION = "keda.sh/v1alpha1"
# How the chart labels the operator's pods (keda/templates/manager/deployment.yaml): the
# operator is the one that dials the brokers.
OPERATOR_POD_LABELS = {"app": "keda-operator"}
TRIGGER_AUTHENTICATION = "kafka-keda"
# Per replica: a group LAG_TARGET messages behind per pod asks for one more pod, up to the
# ceiling. infra/alert_rules.LAG_THRESHOLD is twice this.
LAG_TARGET = 500
CPU_UTILIZATION = 70
POLLING_SECONDS = 15


def lag_scaled(processes: Mapping[str, ServiceConfig]) -> list[contract.Process]:
    """The workers KEDA scales: autoscaled ones that consume topics."""
    return [
        process
        for process in contract.PROCESSES
        if process.subscriptions and processes[process.name].autoscaled
    ]


def partition_ceiling(process: contract.Process) -> int:
    """More consumers than partitions of a topic sit idle: the fewest partitions it reads."""
    return min(subscription.topic.partitions for subscription in process.subscriptions)


def trigger_authentication_spec() -> Manifest:
    """The scaler's username, password and CA, all from Secrets in the app namespace."""
    user = kafka_access.reader(kafka_access.KEDA_PROCESS)
    return {
        "secretTargetRef": [
            {"parameter": "username", "name": user.secret_name, "key": kafka_access.USERNAME_KEY},
            {"parameter": "password", "name": user.secret_name, "key": kafka_access.PASSWORD_KEY},
            {
                "parameter": "ca",
                "name": kafka_access.CA_SECRET_NAME,
                "key": kafka_access.CA_KEY,
            },
        ]
    }


def scaled_object_spec(
    process: contract.Process, service: ServiceConfig, *, brokers: str
) -> Manifest:
    """Scale `process`'s Deployment between its replicas and its ceiling on lag and CPU."""
    ceiling = partition_ceiling(process)
    if service.max_replicas > ceiling:
        raise ValueError(
            f"{process.name}: maxReplicas {service.max_replicas} is above the {ceiling} "
            "partitions of a topic it reads; the extra pods would sit idle"
        )
    kafka = [
        {
            "type": "kafka",
            "metadata": {
                "bootstrapServers": brokers,
                "consumerGroup": process.app_id,
                "topic": subscription.topic.name,
                "lagThreshold": str(LAG_TARGET),
                # A new group starts at the oldest offset (dapr_manifests initialOffset).
                "offsetResetPolicy": "earliest",
                "sasl": "scram_sha512",
                "tls": "enable",
            },
            "authenticationRef": {"name": TRIGGER_AUTHENTICATION},
        }
        for subscription in process.subscriptions
    ]
    cpu = {
        "type": "cpu",
        "metricType": "Utilization",
        "metadata": {"value": str(CPU_UTILIZATION)},
    }
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": process.name},
        "minReplicaCount": service.replicas,
        "maxReplicaCount": service.max_replicas,
        "pollingInterval": POLLING_SECONDS,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "name": f"keda-{process.name}",
                # A backlog cleared is no reason to drop pods at once: it often comes back.
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            }
        },
        "triggers": [*kafka, cpu],
    }


def keda_values(*, node_selector: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Requests and limits for the operator, its metrics API server and its webhooks."""

    def sized(cpu: str, memory: str, cpu_limit: str, memory_limit: str) -> Manifest:
        return {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu_limit, "memory": memory_limit},
        }

    values: dict[str, Any] = {
        "resources": {
            "operator": sized("100m", "128Mi", "500m", "512Mi"),
            "metricServer": sized("50m", "96Mi", "500m", "384Mi"),
            "webhooks": sized("20m", "64Mi", "200m", "256Mi"),
        }
    }
    if node_selector:
        values["nodeSelector"] = dict(node_selector)
    return values


@dataclass(frozen=True)
class KedaArgs:
    placement: InCluster
    depends_on: tuple[pulumi.Resource, ...] = ()


class Keda(pulumi.ComponentResource):
    """Creates the KEDA release (its CRDs, operator, metrics API server and webhooks).

    Outputs: release (the ScaledObjects and the TriggerAuthentication wait on it).
    """

    def __init__(self, name: str, args: KedaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("taskstream:platform:Keda", name, None, opts)
        namespace = helm.namespace(
            NAMESPACE, placement=args.placement, parent=self, labels=labels("keda")
        )
        self.release = helm.release(
            RELEASE,
            chart=versions.KEDA,
            namespace=NAMESPACE,
            values=keda_values(node_selector=args.placement.workload_nodes),
            placement=args.placement,
            parent=self,
            depends_on=[namespace, *args.depends_on],
        )
        self.register_outputs({"namespace": NAMESPACE})
