"""Pure NetworkPolicy and route specs: default deny, then only the flows the system needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import contract
from infra.components import edge, edge_specs
from infra.components.app_workloads import DAPR_METRICS_PORT, selector

Manifest = dict[str, Any]

DAPR_SIDECAR_INTERNAL_GRPC = 50002
DNS_PORT = 53


@dataclass(frozen=True)
class Peers:
    """Namespaces and ports the app pods exchange traffic with."""

    edge_namespace: str
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


def _edge_proxies(peers: Peers) -> Manifest:
    # Both selectors in one peer: the proxy pods of our Gateway in the edge namespace, not
    # the controller or anything else that may run there.
    return {
        **_namespace(peers.edge_namespace),
        "podSelector": {"matchLabels": dict(edge.PROXY_POD_LABELS)},
    }


def network_policies(peers: Peers, *, acme_http01: bool = False) -> dict[str, Manifest]:
    """Policy name -> spec, for the app namespace (which holds the Gateway, so cert-manager
    runs its HTTP-01 solver pods here when `acme_http01`)."""
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
            policies[f"allow-edge-{process.name}"] = {
                "podSelector": {"matchLabels": selector(process)},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_edge_proxies(peers)], "ports": _ports(process.port)}],
            }
    if acme_http01:
        # Let's Encrypt's validation request reaches the solver through the Gateway, so the
        # proxies must reach the solver pod (and nothing else may).
        policies["allow-edge-acme-solver"] = {
            "podSelector": {"matchLabels": dict(edge.ACME_SOLVER_POD_LABELS)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_edge_proxies(peers)], "ports": _ports(edge.ACME_SOLVER_PORT)}],
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


def http_route_spec(
    process: contract.Process,
    *,
    gateway: str,
    listener: str,
    host: str | None,
    public_docs: bool = False,
) -> Manifest:
    # Only the REST API by default: metrics and probes are for the cluster, and the docs
    # map every route for whoever asks unless a stack chooses to publish them.
    prefixes = (contract.API_PATH, *(contract.DOCS_PATHS if public_docs else ()))
    spec: Manifest = {
        "parentRefs": [edge_specs.gateway_ref(gateway, listener)],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": p}} for p in prefixes],
                "backendRefs": [{"name": process.name, "port": process.port}],
            }
        ],
    }
    if host is not None:
        spec["hostnames"] = [host]
    return spec


# Per client address at the edge, as ingress-nginx's limit-rps 20 did (its burst of 5x had no
# counterpart: Envoy's token bucket holds one second's worth). The API's login throttle sits
# behind it. Local: each proxy counts alone, no rate-limit service or Redis needed.
EDGE_REQUESTS_PER_SECOND = 20
# Envoy answers 413 above this, as nginx's proxy-body-size did; the API takes small JSON.
EDGE_MAX_REQUEST_BODY = "1Mi"


def traffic_policy_spec(route: str) -> Manifest:
    """Envoy Gateway BackendTrafficPolicy for the route: a local rate limit per client
    address (answering 429) and a cap on request bodies."""
    per_client = [
        {
            "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": cidr}}],
            "limit": {"requests": EDGE_REQUESTS_PER_SECOND, "unit": "Second"},
        }
        for cidr in ("0.0.0.0/0", "::/0")
    ]
    return {
        "targetRefs": [{"group": edge_specs.GATEWAY_GROUP, "kind": "HTTPRoute", "name": route}],
        "rateLimit": {"local": {"rules": per_client}},
        "requestBuffer": {"limit": EDGE_MAX_REQUEST_BODY},
    }
