"""Pure NetworkPolicy and route specs: default deny, then only the flows the system needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app import contract
from infra.components import edge, edge_specs
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
    # The OpenTelemetry Collector the processes and their daprd send spans to; None: none.
    collector_namespace: str | None = None
    collector_pod_labels: Mapping[str, str] | None = None
    collector_port: int = 0


PROCESS_NAMES = tuple(process.name for process in contract.PROCESSES)
# The lag exporter reads the brokers itself, with no sidecar and no database.
LAG_EXPORTER = contract.LAG_EXPORTER.name


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


def network_policies(peers: Peers, *, acme_http01: bool = False) -> dict[str, Manifest]:
    """Policy name -> spec, for the app namespace: each pod gets only its own flows. The
    namespace holds the Gateway, so cert-manager runs its HTTP-01 solver pods here when
    `acme_http01`."""
    processes = _named(*PROCESS_NAMES)
    policies: dict[str, Manifest] = {
        "default-deny": default_deny(),
        "allow-dns": dns_egress(_named(*PROCESS_NAMES, LAG_EXPORTER, GRANT_JOB, MIGRATE_JOB)),
        # Every daprd holds certificates from sentry, its resources from the operator, and
        # streams to placement (no scheduler is installed).
        "allow-dapr-control-plane": {
            "podSelector": processes,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [pods_peer(peers.dapr_namespace, {"app": app})], "ports": ports(port)}
                for app, port in sorted(peers.dapr_control_plane.items())
            ],
        },
        # Every process's daprd loads the pub/sub component (scoped to all app ids); the
        # lag exporter reads offsets.
        "allow-broker-egress": {
            "podSelector": _named(*PROCESS_NAMES, LAG_EXPORTER),
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
    if peers.collector_namespace is not None and peers.collector_pod_labels is not None:
        # The app's OTLP exporter and its daprd's share the pod, so one rule serves both.
        policies["allow-trace-export"] = {
            "podSelector": processes,
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [pods_peer(peers.collector_namespace, peers.collector_pod_labels)],
                    "ports": ports(peers.collector_port),
                }
            ],
        }
    policies["allow-lag-exporter-scrape"] = {
        "podSelector": _named(LAG_EXPORTER),
        "policyTypes": ["Ingress"],
        "ingress": [
            {
                "from": [pods_peer(peers.monitoring_namespace, peers.prometheus_pod_labels)],
                "ports": ports(contract.LAG_EXPORTER.port),
            }
        ],
    }
    for process in contract.PROCESSES:
        if process.serves_http_api:
            policies[f"allow-edge-{process.name}"] = {
                "podSelector": {"matchLabels": selector(process)},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [pods_peer(peers.edge_namespace, peers.edge_pod_labels)],
                        "ports": ports(process.port),
                    }
                ],
            }
    if acme_http01:
        # Let's Encrypt's validation request reaches the solver through the Gateway, so the
        # proxies must reach the solver pod (and nothing else may).
        policies["allow-edge-acme-solver"] = {
            "podSelector": {"matchLabels": dict(edge.ACME_SOLVER_POD_LABELS)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [pods_peer(peers.edge_namespace, peers.edge_pod_labels)],
                    "ports": ports(edge.ACME_SOLVER_PORT),
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
