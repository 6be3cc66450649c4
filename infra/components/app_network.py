"""Pure NetworkPolicy and Ingress specs: default deny, then only the flows the system needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import contract
from infra.components.app_workloads import DAPR_METRICS_PORT, selector

Manifest = dict[str, Any]

DAPR_SIDECAR_INTERNAL_GRPC = 50002
DNS_PORT = 53


@dataclass(frozen=True)
class Peers:
    """Namespaces and ports the app pods exchange traffic with."""

    ingress_namespace: str
    monitoring_namespace: str
    dapr_namespace: str
    broker_namespace: str
    broker_port: int
    database_namespace: str | None
    database_port: int


def _namespace(name: str) -> Manifest:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _ports(*ports: int, protocol: str = "TCP") -> list[Manifest]:
    return [{"protocol": protocol, "port": port} for port in ports]


def network_policies(peers: Peers) -> dict[str, Manifest]:
    """Policy name -> spec, for the app namespace."""
    everyone: Manifest = {"podSelector": {}}
    database_peer: Manifest
    if peers.database_namespace is None:
        # A managed database lives outside the cluster; its firewall admits only our nodes.
        database_peer = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": _ports(25060, 25061)}
    else:
        database_peer = {
            "to": [_namespace(peers.database_namespace)],
            "ports": _ports(peers.database_port),
        }
    policies: dict[str, Manifest] = {
        "default-deny": {**everyone, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            **everyone,
            "policyTypes": ["Egress"],
            "egress": [{"ports": _ports(DNS_PORT, protocol="UDP") + _ports(DNS_PORT)}],
        },
        "allow-platform-egress": {
            **everyone,
            "policyTypes": ["Egress"],
            "egress": [
                # Sidecars talk to sentry, operator, placement and scheduler.
                {"to": [_namespace(peers.dapr_namespace)]},
                {"to": [_namespace(peers.broker_namespace)], "ports": _ports(peers.broker_port)},
                {"to": [{"podSelector": {}}], "ports": _ports(DAPR_SIDECAR_INTERNAL_GRPC)},
                database_peer,
            ],
        },
        "allow-sidecar-mesh": {
            **everyone,
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {}}], "ports": _ports(DAPR_SIDECAR_INTERNAL_GRPC)}
            ],
        },
        "allow-metrics-scrape": {
            **everyone,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [_namespace(peers.monitoring_namespace)],
                    "ports": _ports(contract.HTTP_PORT, DAPR_METRICS_PORT),
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
                    {"from": [_namespace(peers.ingress_namespace)], "ports": _ports(process.port)}
                ],
            }
    # The notifier delivers user webhooks: anywhere public on the internet over HTTPS, never
    # to the cluster, the node network or metadata endpoints (the sender refuses the same).
    public_internet = {"cidr": "0.0.0.0/0", "except": list(contract.NON_PUBLIC_IPV4_RANGES)}
    policies["allow-webhook-egress"] = {
        "podSelector": {"matchLabels": selector(contract.NOTIFIER)},
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"ipBlock": public_internet}], "ports": _ports(contract.WEBHOOK_PORT)}],
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
