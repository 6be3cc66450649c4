"""Prove a stack's NetworkPolicies against infra/network_flows.py with network-config-analyzer.

The analyzer (IBM's network-config-analyzer, a dev dependency) computes which connections the
policies allow between the workloads it is given. Charts are not rendered offline, so the pods
they run are placed as stand-ins with the labels the table names, beside bystanders (other pods
in the same namespaces and a stranger namespace) that must stay unreachable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.components.netpol import NAMESPACE_NAME_LABEL
from infra.network_flows import Addresses, Flow, Network, Pods
from infra.render.recording import Recording, reveal
from tests.infra.network_analyzer import Connections, Endpoint, analyze, subtract

Manifest = dict[str, Any]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
_KINDS = {
    f"kubernetes:{api}:{kind}": (api, kind)
    for api, kind in (
        ("core/v1", "Namespace"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("batch/v1", "Job"),
        ("networking.k8s.io/v1", "NetworkPolicy"),
    )
}
STRANGER_NAMESPACE = "stranger"
BYSTANDER_LABELS = {"taskstream.test/bystander": "true"}


# --- the objects the analyzer reads ------------------------------------------------------------


def rendered_objects(recording: Recording) -> list[Manifest]:
    """Namespaces, workloads and NetworkPolicies of a recorded stack, as Kubernetes manifests."""
    objects = []
    for resource in recording.resources:
        if resource.type not in _KINDS:
            continue
        api, kind = _KINDS[resource.type]
        inputs = _whole_numbers(reveal(resource.inputs))
        metadata = dict(inputs.get("metadata") or {})
        metadata.setdefault("name", resource.name)  # Jobs without a fixed name
        objects.append(
            {
                "apiVersion": api.removeprefix("core/"),
                "kind": kind,
                "metadata": metadata,
                **({"spec": inputs["spec"]} if "spec" in inputs else {}),
            }
        )
    return objects


def _whole_numbers(value: Any) -> Any:
    """The engine hands every number over as a float; manifests count in integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _deployment(name: str, namespace: str, labels: Mapping[str, str], replicas: int) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "main", "image": "stand-in"}]},
            },
        },
    }


def pod_labels(workload: Manifest) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"].get("labels") or {})


def _matches(pods: Pods, namespace: str, labels: Mapping[str, str]) -> bool:
    return pods.namespace == namespace and all(
        labels.get(key) == value for key, value in pods.labels.items()
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def with_stand_ins(objects: list[Manifest], network: Network) -> list[Manifest]:
    """The rendered objects, plus pods for each endpoint no rendered workload provides, a
    bystander in each namespace that does not deny by default, and a stranger namespace."""
    workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
    extra: list[Manifest] = []
    for pods in network.endpoints():
        provided = any(_matches(pods, w["metadata"]["namespace"], pod_labels(w)) for w in workloads)
        if not provided:
            # Two replicas, so traffic between pods of one workload shows too.
            extra.append(_deployment(_slug(pods.name), pods.namespace, pods.labels, replicas=2))
    namespaces = {
        o["metadata"]["namespace"] for o in [*objects, *extra] if o["kind"] != "Namespace"
    }
    namespaces |= {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    namespaces.add(STRANGER_NAMESPACE)
    for namespace in sorted(namespaces - network.default_deny_namespaces):
        extra.append(_deployment("bystander", namespace, BYSTANDER_LABELS, replicas=1))
    declared = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    for namespace in sorted(namespaces - declared):
        extra.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    result = []
    for obj in [*objects, *extra]:
        if obj["kind"] == "Namespace":
            # The API server sets this label on every namespace; the analyzer needs it written.
            meta = obj["metadata"]
            labels = {**(meta.get("labels") or {}), NAMESPACE_NAME_LABEL: meta["name"]}
            obj = {**obj, "metadata": {**meta, "labels": labels}}
        result.append(obj)
    return result


# --- the comparison ----------------------------------------------------------------------------


def _region(addresses: Addresses) -> list[tuple[int, int]]:
    network = ipaddress.IPv4Network(addresses.cidr)
    holes = []
    for cidr in addresses.excluding:
        hole = ipaddress.IPv4Network(cidr)
        holes.append((int(hole.network_address), int(hole.broadcast_address)))
    return subtract((int(network.network_address), int(network.broadcast_address)), holes)


def _inside(span: tuple[int, int], region: list[tuple[int, int]]) -> bool:
    return not subtract(span, region)


def _flow_connections(flow: Flow) -> Connections:
    found = Connections()
    for protocol in flow.protocols:
        for port in flow.ports:
            found.add(protocol, port, port)
    return found


@dataclass(frozen=True)
class _Workload:
    namespace: str
    name: str
    labels: Mapping[str, str]


def _describe(endpoint: Endpoint) -> str:
    if endpoint[0] == "pod":
        return f"{endpoint[1]}/{endpoint[2]}"
    first = ipaddress.IPv4Address(endpoint[1])
    last = ipaddress.IPv4Address(endpoint[2])
    return f"addresses {first}-{last}"


def check(objects: list[Manifest], network: Network) -> list[str]:
    """What is wrong with `objects`' NetworkPolicies against `network`, as sentences."""
    workloads = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): _Workload(
            o["metadata"]["namespace"], o["metadata"]["name"], pod_labels(o)
        )
        for o in objects
        if o["kind"] in WORKLOAD_KINDS
    }
    allowed = analyze(objects)
    return [
        *_uncovered_workloads(workloads.values(), network),
        *_denied_flows(allowed, workloads.values(), network),
        *_undeclared_connections(allowed, workloads, network),
    ]


def _key(workload: _Workload) -> Endpoint:
    return ("pod", workload.namespace, workload.name)


def _uncovered_workloads(workloads: Iterable[_Workload], network: Network) -> list[str]:
    endpoints = network.endpoints()
    return [
        f"{w.namespace}/{w.name} runs in a default-deny namespace but "
        "infra/network_flows.py declares no flow for it"
        for w in workloads
        if w.namespace in network.default_deny_namespaces
        and not any(_matches(pods, w.namespace, w.labels) for pods in endpoints)
    ]


def _denied_flows(
    allowed: Mapping[tuple[Endpoint, Endpoint], Connections],
    workloads: Iterable[_Workload],
    network: Network,
) -> list[str]:
    """Each row of the table, for every pod pair it names, must be allowed in full."""
    problems = []
    members = list(workloads)
    for flow in network.flows:
        wanted = _flow_connections(flow)
        sources = [w for w in members if _matches(flow.source, w.namespace, w.labels)]
        for source in sources:
            label = f"({flow.source.name} -> {flow.destination.name})"
            if isinstance(flow.destination, Pods):
                destinations = [
                    w for w in members if _matches(flow.destination, w.namespace, w.labels)
                ]
                for destination in destinations:
                    pair = (_key(source), _key(destination))
                    missing = wanted.minus(allowed.get(pair, Connections()))
                    if missing:
                        problems.append(
                            f"{_describe(pair[0])} -> {_describe(pair[1])} {label} "
                            f"is denied: {missing}"
                        )
                continue
            spans = {
                (int(dst[1]), int(dst[2])): conns
                for (src, dst), conns in allowed.items()
                if src == _key(source) and dst[0] == "ip"
            }
            for protocol in flow.protocols:
                for port in flow.ports:
                    reached = [
                        span for span, conns in spans.items() if conns.allows(protocol, port)
                    ]
                    uncovered = _region(flow.destination)
                    for span in reached:
                        uncovered = [
                            piece for part in uncovered for piece in subtract(part, [span])
                        ]
                    if uncovered:
                        example = _describe(("ip", *uncovered[0]))
                        problems.append(
                            f"{_describe(_key(source))} -> {flow.destination.name} {label} "
                            f"is denied: {protocol} {port}, e.g. to {example}"
                        )
    return problems


def _undeclared_connections(
    allowed: Mapping[tuple[Endpoint, Endpoint], Connections],
    workloads: Mapping[tuple[str, str], _Workload],
    network: Network,
) -> list[str]:
    """Whatever reaches or leaves a default-deny namespace must be a row of the table."""

    def judged(endpoint: Endpoint) -> bool:
        return endpoint[0] == "pod" and endpoint[1] in network.default_deny_namespaces

    def workload(endpoint: Endpoint) -> _Workload | None:
        return workloads.get((str(endpoint[1]), str(endpoint[2]))) if endpoint[0] == "pod" else None

    problems = []
    for (source, destination), conns in sorted(allowed.items(), key=str):
        if not (judged(source) or judged(destination)):
            continue
        src, dst = workload(source), workload(destination)
        declared = Connections()
        for flow in network.flows:
            if src is None or not _matches(flow.source, src.namespace, src.labels):
                continue
            if isinstance(flow.destination, Pods):
                reaches = dst is not None and _matches(flow.destination, dst.namespace, dst.labels)
            elif destination[0] == "ip":
                span = (int(destination[1]), int(destination[2]))
                reaches = _inside(span, _region(flow.destination))
            else:
                reaches = False
            if reaches:
                declared.update(_flow_connections(flow))
        extra = conns.minus(declared)
        if extra:
            problems.append(
                f"{_describe(source)} -> {_describe(destination)} is allowed but not in "
                f"infra/network_flows.py: {extra}"
            )
    return problems
