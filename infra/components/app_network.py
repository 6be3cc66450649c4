"""Pure NetworkPolicy and Ingress specs: default deny, then only the flows the system needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app import contract
from infra.components.app_workloads import (
    DAPR_METRICS_PORT,
    GRANT_JOB,
    MIGRATE_JOB,
    NAME_LABEL,
    pod_name,
    selector,
)
from infra.components.netpol import (
    ANYWHERE,
    default_deny,
    dns_egress,
    names_selector,
    namespace_peer,
    pods_peer,
    ports,
)

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Peers:
    """The pods and ports the app's pods exchange traffic with (infra/network_flows.py)."""

    edge_namespace: str
    edge_pod_labels: Mapping[str, str]
    monitoring_namespace: str
    prometheus_pod_labels: Mapping[str, str]
    dapr_namespace: str
    # Control-plane pods' `app` label -> the port daprd dials on them.
    dapr_control_plane: Mapping[str, int]
    broker_namespace: str
    broker_pod_labels: Mapping[str, str]
    broker_port: int
    # None: a managed database outside the cluster, reached by address.
    database_namespace: str | None
    database_port: int
    # Where the grant Job connects as the database's admin.
    database_admin_port: int


PROCESS_NAMES = tuple(process.name for process in contract.PROCESSES)


def _named(*names: str) -> Manifest:
    """The pods of these processes and Jobs."""
    return names_selector(NAME_LABEL, [pod_name(name) for name in names])


def _database_egress(peers: Peers, pods: Manifest, port: int) -> Manifest:
    if peers.database_namespace is None:
        # A managed database lives outside the cluster; its firewall admits only our nodes.
        to: Manifest = {"ipBlock": {"cidr": ANYWHERE}}
    else:
        to = namespace_peer(peers.database_namespace)
    return {
        "podSelector": pods,
        "policyTypes": ["Egress"],
        "egress": [{"to": [to], "ports": ports(port)}],
    }


def network_policies(peers: Peers) -> dict[str, Manifest]:
    """Policy name -> spec, for the app namespace: each pod gets only its own flows."""
    processes = _named(*PROCESS_NAMES)
    policies: dict[str, Manifest] = {
        "default-deny": default_deny(),
        "allow-dns": dns_egress(_named(*PROCESS_NAMES, GRANT_JOB, MIGRATE_JOB)),
        # Every daprd holds certificates from sentry, its resources from the operator, and
        # streams to placement and the scheduler.
        "allow-dapr-control-plane": {
            "podSelector": processes,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [pods_peer(peers.dapr_namespace, {"app": app})], "ports": ports(port)}
                for app, port in sorted(peers.dapr_control_plane.items())
            ],
        },
        # Every process's daprd loads the pub/sub component (scoped to all app ids).
        "allow-broker-egress": {
            "podSelector": processes,
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [pods_peer(peers.broker_namespace, peers.broker_pod_labels)],
                    "ports": ports(peers.broker_port),
                }
            ],
        },
        # The app role through the pool; the admin only for the grant Job.
        "allow-database": _database_egress(
            peers, _named(*PROCESS_NAMES, MIGRATE_JOB), peers.database_port
        ),
        "allow-database-admin": _database_egress(
            peers, _named(GRANT_JOB), peers.database_admin_port
        ),
        "allow-metrics-scrape": {
            "podSelector": processes,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [pods_peer(peers.monitoring_namespace, peers.prometheus_pod_labels)],
                    "ports": ports(
                        *sorted({p.port for p in contract.PROCESSES} | {DAPR_METRICS_PORT})
                    ),
                }
            ],
        },
    }
    for process in contract.PROCESSES:
        if process.serves_http_api:
            policies[f"allow-ingress-{process.name}"] = {
                "podSelector": {"matchLabels": selector(process)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [pods_peer(peers.edge_namespace, peers.edge_pod_labels)],
                        "ports": ports(process.port),
                    }
                ],
            }
    # The notifier delivers user webhooks: anywhere public on the internet over HTTPS, never
    # to the cluster, the node network or metadata endpoints (the sender refuses the same).
    public_internet = {"cidr": ANYWHERE, "except": list(contract.NON_PUBLIC_IPV4_RANGES)}
    policies["allow-webhook-egress"] = {
        "podSelector": {"matchLabels": selector(contract.NOTIFIER)},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": public_internet}], "ports": ports(contract.WEBHOOK_PORT)}],
    }
    return policies


def ingress_spec(
    process: contract.Process,
    *,
    ingress_class: str,
    host: str | None,
    tls_secret: str | None,
    public_docs: bool = False,
) -> Manifest:
    # Only the REST API by default: metrics and probes are for the cluster, and the docs
    # map every route for whoever asks unless a stack chooses to publish them.
    prefixes = (contract.API_PATH, *(contract.DOCS_PATHS if public_docs else ()))
    backend = {"service": {"name": process.name, "port": {"name": "http"}}}
    rule: Manifest = {
        "http": {
            "paths": [
                {"path": prefix, "pathType": "Prefix", "backend": backend} for prefix in prefixes
            ]
        }
    }
    if host is not None:
        rule["host"] = host
    spec: Manifest = {"ingressClassName": ingress_class, "rules": [rule]}
    if host is not None and tls_secret is not None:
        spec["tls"] = [{"hosts": [host], "secretName": tls_secret}]
    return spec


def ingress_annotations(cluster_issuer: str | None) -> dict[str, str]:
    annotations = {
        # Per-client limits at the edge; the API's own login throttling sits behind them.
        "nginx.ingress.kubernetes.io/limit-rps": "20",
        "nginx.ingress.kubernetes.io/limit-burst-multiplier": "5",
        "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
    }
    if cluster_issuer is not None:
        annotations["cert-manager.io/cluster-issuer"] = cluster_issuer
    return annotations
