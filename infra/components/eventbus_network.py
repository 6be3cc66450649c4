"""The redpanda namespace's NetworkPolicies: default deny, then only the brokers' own peers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from infra.chart_values import REDPANDA_ADMIN_PORT, REDPANDA_KAFKA_PORT, REDPANDA_RPC_PORT
from infra.components.netpol import (
    ANYWHERE,
    KUBE_API_PORTS,
    Manifest,
    default_deny,
    dns_egress,
    names_selector,
    namespace_peer,
    ports,
)

NAME_LABEL = "app.kubernetes.io/name"
# How the redpanda chart labels its pods (redpanda-data/redpanda-operator
# charts/redpanda/statefulset.go and post_install_upgrade_job.go at charts/redpanda/v25.3.8,
# release and fullname "redpanda").
BROKER_POD_LABELS = {
    NAME_LABEL: "redpanda",
    "app.kubernetes.io/instance": "redpanda",
    "app.kubernetes.io/component": "redpanda-statefulset",
}
# The post-install/upgrade hook that pushes cluster config through the admin API; the
# release waits for it, so blocking it fails `pulumi up`.
CONFIGURATION_JOB_POD_LABELS = {
    NAME_LABEL: "redpanda-configuration",
    "app.kubernetes.io/component": "redpanda-post-install",
}
# The topic Job's pods carry placement.labels(TOPICS_JOB_NAME).
TOPICS_JOB_NAME = "redpanda-topics"


@dataclass(frozen=True)
class BrokerPeers:
    """Who may reach the brokers from outside their namespace."""

    # Any pod there may try: the app namespace's own egress policies say which do.
    client_namespace: str
    prometheus_namespace: str
    prometheus_pod_labels: Mapping[str, str]
    # KEDA's operator, when installed: it reads consumer offsets over the Kafka API.
    scaler_namespace: str | None = None
    scaler_pod_labels: Mapping[str, str] = field(default_factory=dict)


def network_policies(peers: BrokerPeers) -> dict[str, Manifest]:
    """Policy name -> spec, for the redpanda namespace."""
    brokers = {"podSelector": {"matchLabels": BROKER_POD_LABELS}}
    topics_job = {"podSelector": {"matchLabels": {NAME_LABEL: TOPICS_JOB_NAME}}}
    configuration_job = {"podSelector": {"matchLabels": CONFIGURATION_JOB_POD_LABELS}}
    prometheus = {
        **namespace_peer(peers.prometheus_namespace),
        "podSelector": {"matchLabels": dict(peers.prometheus_pod_labels)},
    }
    mesh = ports(REDPANDA_RPC_PORT, REDPANDA_KAFKA_PORT, REDPANDA_ADMIN_PORT)
    kafka_clients = [namespace_peer(peers.client_namespace), topics_job]
    if peers.scaler_namespace is not None:
        kafka_clients.append(
            {
                **namespace_peer(peers.scaler_namespace),
                "podSelector": {"matchLabels": dict(peers.scaler_pod_labels)},
            }
        )
    ours = [
        BROKER_POD_LABELS[NAME_LABEL],
        CONFIGURATION_JOB_POD_LABELS[NAME_LABEL],
        TOPICS_JOB_NAME,
    ]
    return {
        "default-deny": default_deny(),
        "allow-dns": dns_egress(names_selector(NAME_LABEL, ours)),
        "allow-broker-ingress": {
            **brokers,
            "policyTypes": ["Ingress"],
            "ingress": [
                # Replication, the admin API's forwarding to the leader, the sidecar's probe.
                {"from": [brokers], "ports": mesh},
                {"from": kafka_clients, "ports": ports(REDPANDA_KAFKA_PORT)},
                # Prometheus scrapes /public_metrics on the admin port (the chart's monitor);
                # the topic Job creates the apps' SCRAM users through the admin API.
                {
                    "from": [configuration_job, topics_job, prometheus],
                    "ports": ports(REDPANDA_ADMIN_PORT),
                },
            ],
        },
        "allow-broker-egress": {
            **brokers,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [brokers], "ports": mesh},
                # The chart's sidecar holds a lease and watches the broker pods.
                {"to": [{"ipBlock": {"cidr": ANYWHERE}}], "ports": ports(*KUBE_API_PORTS)},
            ],
        },
        "allow-topics-job-egress": {
            **topics_job,
            "policyTypes": ["Egress"],
            "egress": [{"to": [brokers], "ports": ports(REDPANDA_KAFKA_PORT, REDPANDA_ADMIN_PORT)}],
        },
        "allow-configuration-job-egress": {
            **configuration_job,
            "policyTypes": ["Egress"],
            "egress": [{"to": [brokers], "ports": ports(REDPANDA_ADMIN_PORT)}],
        },
    }
