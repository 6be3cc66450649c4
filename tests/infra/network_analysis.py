"""Prove a stack's NetworkPolicies against infra/network_flows.py with network-config-analyzer.

The analyzer (IBM's network-config-analyzer, a dev dependency) computes which connections the
policies allow between the workloads it is given. Charts are not rendered offline, so the pods
they run are placed as stand-ins with the labels the table names, beside bystanders (other pods
in the same namespaces and a stranger namespace) that must stay unreachable.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.components.netpol import NAMESPACE_NAME_LABEL
from infra.network_flows import Addresses, Flow, Network, Pods
from infra.offline import Recording, reveal

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
ALL_PORTS = (1, 65535)
# What "All connections" stands for: no table row allows a protocol other than these.
PROTOCOLS = ("TCP", "UDP", "SCTP", "other")


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


# --- connections as the analyzer prints them ---------------------------------------------------


@dataclass
class Connections:
    """Protocol -> allowed destination port ranges."""

    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def add(self, protocol: str, low: int, high: int) -> None:
        self.ranges.setdefault(protocol, []).append((low, high))

    def update(self, other: Connections) -> None:
        for protocol, ranges in other.ranges.items():
            for low, high in ranges:
                self.add(protocol, low, high)

    def allows(self, protocol: str, port: int) -> bool:
        return any(low <= port <= high for low, high in self.ranges.get(protocol, []))

    def minus(self, other: Connections) -> Connections:
        left = Connections()
        for protocol, ranges in self.ranges.items():
            for low, high in ranges:
                for piece in _subtract((low, high), other.ranges.get(protocol, [])):
                    left.add(protocol, *piece)
        return left

    def __bool__(self) -> bool:
        return any(self.ranges.values())

    def __str__(self) -> str:
        parts = []
        for protocol, ranges in sorted(self.ranges.items()):
            merged: list[tuple[int, int]] = []
            for low, high in sorted(ranges):
                if merged and low <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
                else:
                    merged.append((low, high))
            ports = ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in merged)
            parts.append(f"{protocol} {ports}")
        return "; ".join(parts)


def _subtract(span: tuple[int, int], holes: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces = [span]
    for hole_low, hole_high in holes:
        next_pieces = []
        for low, high in pieces:
            if hole_high < low or hole_low > high:
                next_pieces.append((low, high))
                continue
            if low < hole_low:
                next_pieces.append((low, hole_low - 1))
            if hole_high < high:
                next_pieces.append((hole_high + 1, high))
        pieces = next_pieces
    return pieces


def parse_connections(text: str) -> Connections:
    """`All connections` or `{protocols:TCP,UDP,dst_ports:53,8000-8010}` groups."""
    found = Connections()
    text = text.strip()
    if text == "All connections":
        for protocol in PROTOCOLS:
            found.add(protocol, *ALL_PORTS)
        return found
    groups = re.findall(r"\{([^}]*)\}", text)
    if not groups:
        raise ValueError(f"the analyzer printed a connection this check cannot read: {text!r}")
    for group in groups:
        protocols = re.search(r"protocols:([A-Za-z, ]+?)(?:,[a-z_]+:|$)", group)
        ports = re.search(r"dst_ports:([0-9,\-]+?)(?:,[a-z_]+:|$)", group)
        names = [n.strip() for n in protocols.group(1).split(",")] if protocols else PROTOCOLS
        spans = [ALL_PORTS]
        if ports:
            spans = []
            for item in ports.group(1).split(","):
                low, _, high = item.partition("-")
                spans.append((int(low), int(high or low)))
        for name in names:
            for span in spans:
                found.add(name, *span)
    return found


# Endpoints: ("pod", namespace, workload) or ("ip", first, last).
Endpoint = tuple[str, str, str] | tuple[str, int, int]


def _endpoint(text: str) -> Endpoint:
    if "/" in text:
        namespace, pod = text.split("/", 1)
        # The analyzer names a workload's pods <workload>-1, <workload>-2, ...
        return ("pod", namespace, re.sub(r"-\d+$", "", pod))
    first, _, last = text.partition("-")
    return ("ip", int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last or first)))


def analyze(objects: list[Manifest]) -> dict[tuple[Endpoint, Endpoint], Connections]:
    """Every allowed (source, destination) pair and what it allows, per the analyzer."""
    with tempfile.TemporaryDirectory() as directory:
        cluster = Path(directory, "cluster.yaml")
        cluster.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
        out = Path(directory, "connectivity.txt")
        command = [
            sys.executable,
            "-m",
            "nca",
            "--connectivity",
            "--resource_list",
            str(cluster),
            "--output_format",
            "txt_no_fw_rules",
            "--output_endpoints",
            "pods",
            "--file_out",
            str(out),
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if not out.exists():
            raise RuntimeError(f"network-config-analyzer failed:\n{run.stdout}\n{run.stderr}")
        lines = out.read_text(encoding="utf-8").splitlines()
    allowed: dict[tuple[Endpoint, Endpoint], Connections] = {}
    for line in lines:
        if " => " not in line:
            continue
        pair, _, connection = line.partition(" : ")
        source, _, destination = pair.partition(" => ")
        key = (_endpoint(source.strip()), _endpoint(destination.strip()))
        allowed.setdefault(key, Connections()).update(parse_connections(connection))
    return allowed


# --- the comparison ----------------------------------------------------------------------------


def _region(addresses: Addresses) -> list[tuple[int, int]]:
    network = ipaddress.IPv4Network(addresses.cidr)
    holes = []
    for cidr in addresses.excluding:
        hole = ipaddress.IPv4Network(cidr)
        holes.append((int(hole.network_address), int(hole.broadcast_address)))
    return _subtract((int(network.network_address), int(network.broadcast_address)), holes)


def _inside(span: tuple[int, int], region: list[tuple[int, int]]) -> bool:
    return not _subtract(span, region)


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
                            piece for part in uncovered for piece in _subtract(part, [span])
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
