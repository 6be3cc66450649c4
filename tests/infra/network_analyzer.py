"""network-config-analyzer, run on a list of manifests, and the connections it reports.

The analyzer keeps state between queries in one process, so each run is its own process.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]
ALL_PORTS = (1, 65535)
# What "All connections" stands for: no table row allows a protocol other than these.
PROTOCOLS = ("TCP", "UDP", "SCTP", "other")


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
                for piece in subtract((low, high), other.ranges.get(protocol, [])):
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


def subtract(span: tuple[int, int], holes: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
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
