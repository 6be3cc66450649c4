"""A scheduling model of one rendered stack: do its pods' requests fit its node pools?

Pods come from what the program declares (Deployments at their HPA ceiling, with the Dapr
sidecar the annotations ask for; Jobs; StatefulSets) and from each Helm release's values
plus the chart defaults below. They are packed, largest first, onto the pools' nodes under
their nodeSelector and hard anti-affinity, after the per-node DaemonSets. Every figure that
does not come from the rendered stack is in this module with its source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from infra.render.recording import Recording, reveal
from policy.kube import pod_spec, pod_template

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
JOB = "kubernetes:batch/v1:Job"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
RELEASE = "kubernetes:helm.sh/v3:Release"
ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
POOL_LABEL = "taskstream.io/pool"


@dataclass(frozen=True, order=True)
class Requests:
    """CPU in millicores and memory in MiB, as the scheduler adds them up."""

    memory: int = 0
    cpu: int = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.memory + other.memory, self.cpu + other.cpu)

    def __sub__(self, other: Requests) -> Requests:
        return Requests(self.memory - other.memory, self.cpu - other.cpu)

    def __mul__(self, count: int) -> Requests:
        return Requests(self.memory * count, self.cpu * count)

    def within(self, room: Requests) -> bool:
        return self.memory <= room.memory and self.cpu <= room.cpu

    def __str__(self) -> str:
        return f"cpu {self.cpu}m, memory {self.memory}Mi"


def requests(cpu: str | int | float | None = None, memory: str | None = None) -> Requests:
    return Requests(memory=_mebibytes(memory), cpu=_millicores(cpu))


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_BYTES = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BYTES.update({"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40})


def _millicores(value: str | int | float | None) -> int:
    if value is None:
        return 0
    text = str(value)
    if text.endswith("m"):
        return math.ceil(float(text[:-1]))
    return math.ceil(float(text) * 1000)


def _mebibytes(value: str | None) -> int:
    if value is None:
        return 0
    match = _QUANTITY.match(str(value))
    assert match, f"not a memory quantity: {value!r}"
    return math.ceil(float(match.group(1)) * _BYTES[match.group(2)] / 2**20)


# --- Nodes ----------------------------------------------------------------------------------
# Memory a DOKS node offers pods, per Droplet size: the "Allocatable memory" table of
# https://docs.digitalocean.com/products/kubernetes/details/limits/. The stored copy we could
# read when writing this did not include the table, so these figures are our transcription
# to confirm against it (or `kubectl describe node`, Allocatable) before relying on slack
# below a few hundred MiB. DigitalOcean documents no CPU reservation there; we assume 100m.
DOKS_ALLOCATABLE: dict[str, Requests] = {
    "s-1vcpu-2gb": requests("900m", "1Gi"),
    "s-2vcpu-2gb": requests("1900m", "1Gi"),
    "s-2vcpu-4gb": requests("1900m", "2560Mi"),
    "s-4vcpu-8gb": requests("3900m", "6Gi"),
    "s-8vcpu-16gb": requests("7900m", "13Gi"),
}
# DOKS's own pods on every node (Cilium, the CSI node plugin, do-node-agent, konnectivity):
# DigitalOcean publishes no figures, so this is an estimate to replace with measured ones.
DOKS_MANAGED_PER_NODE = requests("300m", "400Mi")
# CoreDNS: two replicas at the upstream manifest's requests (kubernetes/kubernetes,
# cluster/addons/dns/coredns/coredns.yaml.base: 100m, 70Mi).
DOKS_MANAGED_PODS = (("coredns", 2, requests("100m", "70Mi")),)
# The local stack runs on one kind node; we assume the smallest machine a developer runs it
# on gives Docker 4 CPUs and 8 GiB (kind's node has the host's allocatable, minus nothing).
KIND_NODE = requests("4", "8Gi")

# --- Chart pods whose requests our values do not set ------------------------------------------
# (release, component) -> requests per pod, from each pinned chart's values.yaml; "{}" there
# means no requests (the pod counts as 0 to the scheduler).
CHART_DEFAULT_REQUESTS: dict[tuple[str, str], Requests] = {
    # kubernetes-sigs/metrics-server charts/metrics-server/values.yaml, helm chart 3.13.1
    ("metrics-server", "metrics-server"): requests("100m", "200Mi"),
    # envoyproxy/gateway charts/gateway-helm/values.yaml, v1.9.0: the controller's default,
    # used only when our values leave it out (infra/chart_values.py states it).
    ("gateway-helm", "controller"): requests("100m", "256Mi"),
    # Envoy Gateway v1.9.0 adds a shutdown-manager container to every proxy pod with these
    # requests (api/v1alpha1 shared_types.go DefaultShutdownManagerContainerResourceRequirements).
    ("envoy-proxy", "shutdown-manager"): requests("10m", "32Mi"),
    # prometheus-community/helm-charts, kube-prometheus-stack-88.5.3: values.yaml sets
    # resources: {} for the operator, Prometheus, Alertmanager and the config reloader, and
    # the grafana, kube-state-metrics-8.4.0 and prometheus-node-exporter-4.56.1 subcharts too.
    ("kube-prometheus-stack", "prometheus"): Requests(),
    ("kube-prometheus-stack", "alertmanager"): Requests(),
    ("kube-prometheus-stack", "grafana"): Requests(),
    ("kube-prometheus-stack", "operator"): Requests(),
    ("kube-prometheus-stack", "kube-state-metrics"): Requests(),
    ("kube-prometheus-stack", "node-exporter"): Requests(),
    # dapr/dapr charts/dapr/charts/dapr_*/values.yaml, v1.18.3: resources: {} each.
    ("dapr", "control-plane"): Requests(),
    # cert-manager/cert-manager deploy/charts/cert-manager/values.yaml, v1.21.1: {} each.
    ("cert-manager", "controller"): Requests(),
    # redpanda-data/redpanda-operator charts/redpanda/statefulset.go, charts/redpanda/v25.3.8:
    # the config-watcher sidecar and the init containers get no resources.
    ("redpanda", "sidecar"): Requests(),
}
# Dapr's control-plane services; each runs 3 replicas with global.ha.enabled, else 1
# (placement is a StatefulSet of 3 in HA mode). The scheduler is not installed
# (global.scheduler.enabled: false, infra/chart_values.py).
DAPR_CONTROL_PLANE = ("operator", "sentry", "sidecar-injector", "placement")
# Without the dapr.io/sidecar-*-request annotations the injector sets no requests.
DAPR_CPU_REQUEST = "dapr.io/sidecar-cpu-request"
DAPR_MEMORY_REQUEST = "dapr.io/sidecar-memory-request"


@dataclass(frozen=True)
class Pod:
    name: str
    requests: Requests
    # The pool its nodeSelector names; None: any node.
    pool: str | None = None
    # Hard anti-affinity: no two pods of one group on the same node.
    spread: str | None = None


@dataclass(frozen=True)
class Pool:
    name: str
    size: str
    nodes: int
    allocatable: Requests


@dataclass
class _Node:
    pool: str
    free: Requests
    groups: set[str] = field(default_factory=set)


# --- Pods ------------------------------------------------------------------------------------


def _container_requests(spec: Mapping[str, Any]) -> Requests:
    total = Requests()
    for container in spec.get("containers", []):
        asked = container.get("resources", {}).get("requests", {})
        total = total + requests(asked.get("cpu"), asked.get("memory"))
    # Init containers run first, one at a time: the pod needs their maximum or the sum above.
    for container in spec.get("initContainers", []):
        asked = container.get("resources", {}).get("requests", {})
        init = requests(asked.get("cpu"), asked.get("memory"))
        total = Requests(max(total.memory, init.memory), max(total.cpu, init.cpu))
    return total


def _pool_of(selector: Mapping[str, Any] | None) -> str | None:
    return (selector or {}).get(POOL_LABEL)


def declared_pods(rec: Recording) -> Iterator[Pod]:
    """The pods of every workload the program declares, Deployments at their HPA ceiling
    (or their ScaledObject's: KEDA's HPA takes maxReplicaCount as its maxReplicas)."""
    ceilings = {
        reveal(h.inputs)["spec"]["scaleTargetRef"]["name"]: int(
            reveal(h.inputs)["spec"]["maxReplicas"]
        )
        for h in rec.of_type(HPA)
    }
    for scaled in rec.of_type(SCALED_OBJECT):
        spec = reveal(scaled.inputs)["spec"]
        ceilings[spec["scaleTargetRef"]["name"]] = int(spec["maxReplicaCount"])
    for resource in [*rec.of_type(DEPLOYMENT), *rec.of_type(STATEFULSET), *rec.of_type(JOB)]:
        inputs = reveal(resource.inputs)
        spec = pod_spec(resource.type, inputs) or {}
        annotations = (
            (pod_template(resource.type, inputs) or {}).get("metadata", {}).get("annotations", {})
        )
        asked = _container_requests(spec)
        if annotations.get("dapr.io/enabled") == "true":
            asked = asked + requests(
                annotations.get(DAPR_CPU_REQUEST), annotations.get(DAPR_MEMORY_REQUEST)
            )
        if resource.type == JOB:
            count = 1
        else:
            name = inputs.get("metadata", {}).get("name")
            count = ceilings.get(name, int(inputs["spec"].get("replicas", 1)))
        for index in range(count):
            yield Pod(f"{resource.name}-{index}", asked, _pool_of(spec.get("nodeSelector")))


def _dig(values: Mapping[str, Any], *path: str) -> Any:
    current: Any = values
    for key in path:
        current = current.get(key, {}) if isinstance(current, Mapping) else {}
    return current


def _redpanda(values: Mapping[str, Any]) -> Iterator[Pod]:
    resources = values["resources"]
    if "requests" in resources and "limits" in resources:
        asked = requests(resources["requests"].get("cpu"), resources["requests"].get("memory"))
    else:
        # Legacy mode: the requests are the limits unless memory.container.min is set.
        memory = resources["memory"]["container"]
        asked = requests(resources["cpu"]["cores"], memory.get("min") or memory["max"])
    asked = asked + CHART_DEFAULT_REQUESTS[("redpanda", "sidecar")]
    statefulset = values["statefulset"]
    hard = _dig(statefulset, "podAntiAffinity", "type") != "soft"
    pool = _pool_of(_dig(statefulset, "podTemplate", "spec", "nodeSelector"))
    for index in range(int(statefulset["replicas"])):
        yield Pod(f"redpanda-{index}", asked, pool, "redpanda" if hard else None)


def _kube_prometheus_stack(values: Mapping[str, Any]) -> Iterator[Pod]:
    def chart(component: str) -> Requests:
        return CHART_DEFAULT_REQUESTS[("kube-prometheus-stack", component)]

    prometheus = _dig(values, "prometheus", "prometheusSpec")
    asked = _dig(prometheus, "resources", "requests")
    own = requests(asked.get("cpu"), asked.get("memory")) if asked else chart("prometheus")
    for index in range(int(prometheus.get("replicas", 1))):
        yield Pod(f"prometheus-{index}", own, _pool_of(prometheus.get("nodeSelector")))
    yield Pod("alertmanager-0", chart("alertmanager"))
    yield Pod("grafana-0", chart("grafana"), _pool_of(_dig(values, "grafana", "nodeSelector")))
    yield Pod("prometheus-operator-0", chart("operator"))
    yield Pod("kube-state-metrics-0", chart("kube-state-metrics"))


def _dapr(values: Mapping[str, Any]) -> Iterator[Pod]:
    replicas = 3 if _dig(values, "global", "ha", "enabled") is True else 1
    for service in DAPR_CONTROL_PLANE:
        for index in range(replicas):
            yield Pod(f"dapr-{service}-{index}", CHART_DEFAULT_REQUESTS[("dapr", "control-plane")])


def _cert_manager(values: Mapping[str, Any]) -> Iterator[Pod]:
    for index in range(int(values.get("replicaCount", 1))):
        yield Pod(f"cert-manager-{index}", CHART_DEFAULT_REQUESTS[("cert-manager", "controller")])


def _envoy_gateway(values: Mapping[str, Any]) -> Iterator[Pod]:
    deployment = values.get("deployment", {})
    asked = _dig(deployment, "envoyGateway", "resources", "requests")
    own = (
        requests(asked.get("cpu"), asked.get("memory"))
        if asked
        else CHART_DEFAULT_REQUESTS[("gateway-helm", "controller")]
    )
    for index in range(int(deployment.get("replicas", 1))):
        yield Pod(f"envoy-gateway-{index}", own, _pool_of(deployment.get("nodeSelector")))


def envoy_proxies(rec: Recording) -> Iterator[Pod]:
    """The proxy fleet the controller runs from each EnvoyProxy resource we declare."""
    for resource in rec.of_type(ENVOY_PROXY):
        spec = reveal(resource.inputs)["spec"]
        deployment = _dig(spec, "provider", "kubernetes", "envoyDeployment") or {}
        asked = _dig(deployment, "container", "resources", "requests") or {}
        own = (
            requests(asked.get("cpu"), asked.get("memory"))
            + CHART_DEFAULT_REQUESTS[("envoy-proxy", "shutdown-manager")]
        )
        pool = _pool_of(_dig(deployment, "pod", "nodeSelector"))
        for index in range(int(deployment.get("replicas", 1))):
            yield Pod(f"envoy-proxy-{index}", own, pool)


def _metrics_server(values: Mapping[str, Any]) -> Iterator[Pod]:
    own = CHART_DEFAULT_REQUESTS[("metrics-server", "metrics-server")]
    for index in range(int(values.get("replicas", 1))):
        yield Pod(f"metrics-server-{index}", own, _pool_of(values.get("nodeSelector")))


def _requests_at(values: Mapping[str, Any], *path: str) -> Requests:
    asked = _dig(values, *path, "resources", "requests") or {}
    return requests(asked.get("cpu"), asked.get("memory"))


def _opentelemetry_collector(values: Mapping[str, Any]) -> Iterator[Pod]:
    # Deployment mode: replicaCount pods of one container (chart 0.170.0 _pod.tpl).
    own = _requests_at(values)
    for index in range(int(values.get("replicaCount", 1))):
        yield Pod(f"otel-collector-{index}", own, _pool_of(values.get("nodeSelector")))


def _tempo(values: Mapping[str, Any]) -> Iterator[Pod]:
    # A StatefulSet of `replicas` (1 by default) single-binary pods; tempo-query is off.
    own = _requests_at(values, "tempo")
    for index in range(int(values.get("replicas", 1))):
        yield Pod(f"tempo-{index}", own, _pool_of(values.get("nodeSelector")))


# kagent-dev/kagent helm/kagent/values.yaml at v0.9.12 (controller, ui, the bundled
# PostgreSQL, the k8s-agent) and kagent-dev/tools helm/kagent-tools/values.yaml at v0.2.1
# (tools.resources; the parent's `kagent-tools.resources` is not what the subchart reads).
KAGENT_PODS = (
    ("kagent-controller", requests("100m", "128Mi")),
    ("kagent-ui", requests("100m", "256Mi")),
    ("kagent-postgresql", requests("250m", "256Mi")),
    ("kagent-tools", requests("100m", "128Mi")),
    ("k8s-agent", requests("50m", "128Mi")),
)


def _kagent(values: Mapping[str, Any]) -> Iterator[Pod]:
    for name, asked in KAGENT_PODS:
        yield Pod(f"{name}-0", asked)


def _no_pods(values: Mapping[str, Any]) -> Iterator[Pod]:
    return iter(())


def _keda(values: Mapping[str, Any]) -> Iterator[Pod]:
    # kedacore/charts keda/values.yaml, chart 2.20.2: one replica each of the operator,
    # the metrics API server and the admission webhooks; our values set all three requests.
    pool = _pool_of(values.get("nodeSelector"))
    for component in ("operator", "metricServer", "webhooks"):
        asked = _dig(values, "resources", component, "requests")
        yield Pod(f"keda-{component}", requests(asked.get("cpu"), asked.get("memory")), pool)


CHART_PODS = {
    "redpanda": _redpanda,
    "kube-prometheus-stack": _kube_prometheus_stack,
    "dapr": _dapr,
    "cert-manager": _cert_manager,
    "gateway-helm": _envoy_gateway,
    "metrics-server": _metrics_server,
    "opentelemetry-collector": _opentelemetry_collector,
    "tempo": _tempo,
    "kagent": _kagent,
    "kagent-crds": _no_pods,
    "keda": _keda,
}
# DaemonSets of the charts: one pod on every node, whatever the pool.
CHART_DAEMONSETS = {"kube-prometheus-stack": ("kube-prometheus-stack", "node-exporter")}


def _chart_name(chart: str) -> str:
    """An OCI chart is named by its reference (oci://registry/org/name); the rest by name."""
    return chart.rsplit("/", 1)[-1]


def chart_pods(rec: Recording) -> Iterator[Pod]:
    for release in rec.of_type(RELEASE):
        inputs = reveal(release.inputs)
        build = CHART_PODS.get(_chart_name(inputs["chart"]))
        assert build is not None, f"no capacity model for chart {inputs['chart']}; add one"
        yield from build(inputs["values"])


def per_node(rec: Recording, *, managed: bool) -> Requests:
    """What every node gives DaemonSets before any other pod lands."""
    total = DOKS_MANAGED_PER_NODE if managed else Requests()
    for release in rec.of_type(RELEASE):
        key = CHART_DAEMONSETS.get(_chart_name(reveal(release.inputs)["chart"]))
        if key is not None:
            total = total + CHART_DEFAULT_REQUESTS[key]
    return total


def stack_pods(rec: Recording, *, managed: bool) -> list[Pod]:
    pods = [*declared_pods(rec), *chart_pods(rec), *envoy_proxies(rec)]
    if managed:
        for name, count, asked in DOKS_MANAGED_PODS:
            pods.extend(Pod(f"{name}-{index}", asked) for index in range(count))
    return pods


def doks_pools(rec: Recording) -> list[Pool]:
    """The default pool at its fixed size and the worker pool at its ceiling."""
    default = reveal(rec.of_type(CLUSTER)[0].inputs)["nodePool"]
    workers = reveal(rec.of_type(NODE_POOL)[0].inputs)
    return [
        Pool(
            default["labels"][POOL_LABEL],
            default["size"],
            int(default["nodeCount"]),
            DOKS_ALLOCATABLE[default["size"]],
        ),
        Pool(
            workers["labels"][POOL_LABEL],
            workers["size"],
            int(workers["maxNodes"]),
            DOKS_ALLOCATABLE[workers["size"]],
        ),
    ]


def drained(pools: list[Pool]) -> Iterator[tuple[str, list[Pool]]]:
    """Each way of losing one node: one scenario per pool that has a node to lose."""
    for index, pool in enumerate(pools):
        if pool.nodes:
            rest = [*pools[:index], replace(pool, nodes=pool.nodes - 1), *pools[index + 1 :]]
            yield f"one {pool.name} node ({pool.size}) drained", rest


# --- Packing ---------------------------------------------------------------------------------


def shortfalls(pods: Iterable[Pod], pools: Iterable[Pool], daemons: Requests) -> list[str]:
    """Why pods would stay Pending: best-fit, largest first; [] when every pod is placed."""
    nodes = [
        _Node(pool.name, pool.allocatable - daemons) for pool in pools for _ in range(pool.nodes)
    ]
    problems = [
        f"node pool {pool.name} ({pool.size}) has {pool.allocatable} but its DaemonSets take "
        f"{daemons}"
        for pool in pools
        if not daemons.within(pool.allocatable)
    ]
    # Anti-affine pods first, so each gets a node of its own before the rest fill them.
    ordered = sorted(pods, key=lambda p: (p.spread is not None, p.requests), reverse=True)
    for pod in ordered:
        eligible = [
            node
            for node in nodes
            if (pod.pool is None or node.pool == pod.pool) and pod.spread not in node.groups
        ]
        fitting = [node for node in eligible if pod.requests.within(node.free)]
        if fitting:
            # Best fit: the node this pod leaves with the least memory, keeping big holes.
            chosen = min(fitting, key=lambda node: (node.free - pod.requests).memory)
            chosen.free = chosen.free - pod.requests
            if pod.spread is not None:
                chosen.groups.add(pod.spread)
            continue
        where = f"{pod.pool} pool" if pod.pool else "cluster"
        if not eligible:
            problems.append(
                f"pod {pod.name} ({pod.requests}) has no {where} node left without another "
                f"{pod.spread} pod (hard anti-affinity)"
            )
            continue
        roomiest = max(eligible, key=lambda node: node.free)
        short = Requests(
            max(0, pod.requests.memory - roomiest.free.memory),
            max(0, pod.requests.cpu - roomiest.free.cpu),
        )
        problems.append(
            f"pod {pod.name} ({pod.requests}) fits no {where} node: the roomiest has "
            f"{roomiest.free} free, short by {short}"
        )
    return problems
