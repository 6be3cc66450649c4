"""Every flow the cluster network must carry: the one table the NetworkPolicies are proven against.

tests/infra/test_infra_network_flows.py feeds each stack's rendered NetworkPolicies and
workloads to network-config-analyzer and requires every flow below to be allowed, and every
other connection to or from a pod of a default-deny namespace to be denied. Endpoints are
named by the constants of the components that create them, so the table follows a chart's or
a namespace's change; a new workload in a default-deny namespace needs its rows here.
Traffic that neither starts nor ends in a default-deny namespace (the API server and
metrics-server, Prometheus and its exporters) is governed by no policy of ours and has no
rows; a namespace that starts denying by default brings its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app import contract
from infra.chart_values import REDPANDA_ADMIN_PORT, REDPANDA_KAFKA_PORT, REDPANDA_RPC_PORT
from infra.components import (
    autoscaling,
    database,
    edge,
    eventbus,
    eventbus_network,
    local_database,
    monitoring,
    tracing,
    tracing_specs,
)
from infra.components.app_workloads import (
    DAPR_METRICS_PORT,
    GRANT_JOB,
    MIGRATE_JOB,
    NAME_LABEL,
    pod_name,
    selector,
)
from infra.components.dapr import CONTROL_PLANE_PORTS, SYSTEM_NAMESPACE
from infra.components.netpol import (
    ANYWHERE,
    DNS_PORT,
    KUBE_API_PORTS,
    KUBE_DNS_NAMESPACE,
    KUBE_DNS_POD_LABELS,
)
from infra.config_model import InClusterDatabaseConfig, StackConfig
from infra.program import APP_NAMESPACE


@dataclass(frozen=True)
class Pods:
    """The pods of one namespace that carry all of `labels`."""

    name: str
    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Addresses:
    """Addresses outside the pod network: `cidr` less `excluding`."""

    name: str
    cidr: str
    excluding: tuple[str, ...] = ()


@dataclass(frozen=True)
class Flow:
    source: Pods
    destination: Pods | Addresses
    ports: tuple[int, ...]
    protocols: tuple[str, ...] = ("TCP",)


@dataclass(frozen=True)
class Network:
    """One stack's flows and the namespaces whose pods deny everything else."""

    flows: tuple[Flow, ...]
    default_deny_namespaces: frozenset[str]

    def endpoints(self) -> list[Pods]:
        found: dict[tuple[str, str], Pods] = {}
        for flow in self.flows:
            for pods in (flow.source, flow.destination):
                if isinstance(pods, Pods):
                    found.setdefault((pods.namespace, pods.name), pods)
        return list(found.values())


def _process(process: contract.Process) -> Pods:
    return Pods(process.name, APP_NAMESPACE, selector(process))


def _job(job: str) -> Pods:
    return Pods(job, APP_NAMESPACE, {NAME_LABEL: pod_name(job)})


PROCESSES = tuple(_process(process) for process in contract.PROCESSES)
API = _process(contract.API)
NOTIFIER = _process(contract.NOTIFIER)
LAG_EXPORTER = _process(contract.LAG_EXPORTER)
# KEDA's operator runs the Kafka scaler: it dials the brokers as its SCRAM user over TLS.
KEDA_OPERATOR = Pods("keda operator", autoscaling.NAMESPACE, autoscaling.OPERATOR_POD_LABELS)
MIGRATE = _job(MIGRATE_JOB)
GRANT = _job(GRANT_JOB)

EDGE = Pods("edge proxies", edge.EDGE_NAMESPACE, edge.PROXY_POD_LABELS)
# cert-manager runs the solver beside the Gateway it answers for: in the app namespace.
ACME_SOLVER = Pods("ACME HTTP-01 solver", APP_NAMESPACE, edge.ACME_SOLVER_POD_LABELS)
PROMETHEUS = Pods("prometheus", monitoring.NAMESPACE, monitoring.PROMETHEUS_POD_LABELS)
KUBE_DNS = Pods("kube-dns", KUBE_DNS_NAMESPACE, KUBE_DNS_POD_LABELS)
DAPR_CONTROL_PLANE = tuple(
    (Pods(app, SYSTEM_NAMESPACE, {"app": app}), port)
    for app, port in sorted(CONTROL_PLANE_PORTS.items())
)

BROKERS = Pods("redpanda brokers", eventbus.NAMESPACE, eventbus_network.BROKER_POD_LABELS)
TOPICS_JOB = Pods("topic job", eventbus.NAMESPACE, {NAME_LABEL: eventbus_network.TOPICS_JOB_NAME})
CONFIGURATION_JOB = Pods(
    "redpanda configuration job", eventbus.NAMESPACE, eventbus_network.CONFIGURATION_JOB_POD_LABELS
)
COLLECTOR = Pods("otel collector", tracing_specs.NAMESPACE, tracing_specs.COLLECTOR_POD_LABELS)
TEMPO = Pods("tempo", tracing_specs.NAMESPACE, tracing_specs.TEMPO_POD_LABELS)
GRAFANA = Pods("grafana", monitoring.NAMESPACE, tracing.GRAFANA_POD_LABELS)
LOCAL_DATABASE = Pods("postgres", local_database.NAMESPACE, {NAME_LABEL: local_database.NAME})

# Managed PostgreSQL has a private address known only at deploy time; its firewall, not the
# pod network, decides who else may connect.
MANAGED_DATABASE = Addresses("managed PostgreSQL", ANYWHERE)
PUBLIC_INTERNET = Addresses(
    "the public internet", ANYWHERE, excluding=contract.NON_PUBLIC_IPV4_RANGES
)
KUBE_API = Addresses("the Kubernetes API server", ANYWHERE)


def _each(sources: Iterable[Pods], destination: Pods | Addresses, *ports: int) -> list[Flow]:
    return [Flow(source, destination, ports) for source in sources]


def network(config: StackConfig) -> Network:
    """The flows `config`'s stack needs, and its default-deny namespaces."""
    in_cluster_db = isinstance(config.database, InClusterDatabaseConfig)
    app_db: tuple[Pods | Addresses, int]
    admin_db: tuple[Pods | Addresses, int]
    if in_cluster_db:
        app_db = admin_db = (LOCAL_DATABASE, local_database.PORT)
    else:
        app_db = (MANAGED_DATABASE, database.POOL_PORT)
        admin_db = (MANAGED_DATABASE, database.SERVER_PORT)
    redpanda_pods = (BROKERS, TOPICS_JOB, CONFIGURATION_JOB)
    flows: list[Flow] = [
        # The way in: only the edge reaches the API, and the ACME solver during a challenge.
        Flow(EDGE, API, (contract.API.port,)),
        *([Flow(EDGE, ACME_SOLVER, (edge.ACME_SOLVER_PORT,))] if config.acme_email else []),
        # Prometheus scrapes each process and its daprd, and the brokers' admin API.
        *[Flow(PROMETHEUS, pods, (contract.HTTP_PORT, DAPR_METRICS_PORT)) for pods in PROCESSES],
        Flow(PROMETHEUS, BROKERS, (REDPANDA_ADMIN_PORT,)),
        Flow(PROMETHEUS, LAG_EXPORTER, (contract.LAG_EXPORTER.port,)),
        # Every pod of ours resolves names through the cluster DNS.
        *[
            Flow(pods, KUBE_DNS, (DNS_PORT,), ("UDP", "TCP"))
            for pods in (*PROCESSES, LAG_EXPORTER, MIGRATE, GRANT, *redpanda_pods)
        ],
        # Each daprd: certificates, resources and placement; then the pub/sub.
        *[
            flow
            for control_plane, port in DAPR_CONTROL_PLANE
            for flow in _each(PROCESSES, control_plane, port)
        ],
        *_each(PROCESSES, BROKERS, REDPANDA_KAFKA_PORT),
        # The lag exporter reads offsets over the Kafka API (SCRAM over TLS, describe only).
        Flow(LAG_EXPORTER, BROKERS, (REDPANDA_KAFKA_PORT,)),
        # So does KEDA's scaler, where a worker scales on lag. The rest of KEDA's paths (the
        # API server to its metrics API and webhooks, the operator to the API server) stay
        # outside default-deny namespaces, like Prometheus's and metrics-server's.
        *(
            [Flow(KEDA_OPERATOR, BROKERS, (REDPANDA_KAFKA_PORT,))]
            if autoscaling.lag_scaled(config.services)
            else []
        ),
        # The database: the app role through the pool, the admin for the grant only.
        *_each((*PROCESSES, MIGRATE), *app_db),
        Flow(GRANT, admin_db[0], (admin_db[1],)),
        # User webhooks leave for public HTTPS addresses only.
        Flow(NOTIFIER, PUBLIC_INTERNET, (contract.WEBHOOK_PORT,)),
        # Redpanda: brokers replicate and forward admin calls to each other; the chart's
        # sidecar in each broker pod holds a lease through the API server.
        Flow(BROKERS, BROKERS, (REDPANDA_RPC_PORT, REDPANDA_KAFKA_PORT, REDPANDA_ADMIN_PORT)),
        Flow(BROKERS, KUBE_API, KUBE_API_PORTS),
        # Topics and ACLs over the Kafka API, the apps' SCRAM users over the admin API.
        Flow(TOPICS_JOB, BROKERS, (REDPANDA_KAFKA_PORT, REDPANDA_ADMIN_PORT)),
        Flow(CONFIGURATION_JOB, BROKERS, (REDPANDA_ADMIN_PORT,)),
        # Traces: each process and its daprd export OTLP/HTTP to the collector, which
        # forwards to Tempo; Grafana queries Tempo.
        *_each(PROCESSES, COLLECTOR, tracing_specs.OTLP_HTTP_PORT),
        Flow(COLLECTOR, KUBE_DNS, (DNS_PORT,), ("UDP", "TCP")),
        Flow(COLLECTOR, TEMPO, (tracing_specs.OTLP_HTTP_PORT,)),
        Flow(GRAFANA, TEMPO, (tracing_specs.TEMPO_HTTP_PORT,)),
    ]
    deny = {APP_NAMESPACE, eventbus.NAMESPACE, tracing_specs.NAMESPACE}
    if in_cluster_db:
        deny.add(local_database.NAMESPACE)
    return Network(flows=tuple(flows), default_deny_namespaces=frozenset(deny))
