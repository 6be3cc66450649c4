"""The app's NetworkPolicies: the notifier reaches public HTTPS only, never internal addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from app import contract
from infra.components.app_network import Peers, network_policies
from infra.components.app_workloads import selector

Manifest = dict[str, Any]


def _peers(database_namespace: str | None) -> Peers:
    return Peers(
        edge_namespace="ingress-nginx",
        edge_pod_labels={"app.kubernetes.io/name": "ingress-nginx"},
        monitoring_namespace="monitoring",
        prometheus_pod_labels={"app.kubernetes.io/name": "prometheus"},
        dapr_namespace="dapr-system",
        dapr_control_plane={"dapr-sentry": 50001},
        broker_namespace="redpanda",
        broker_pod_labels={"app.kubernetes.io/name": "redpanda"},
        broker_port=9093,
        database_namespace=database_namespace,
        database_port=5432,
        database_admin_port=5432,
    )


def _selects(policy: Manifest, labels: dict[str, str]) -> bool:
    wanted = policy["podSelector"].get("matchLabels", {})
    return all(labels.get(key) == value for key, value in wanted.items())


def _ip_allowed(rule: Manifest, address: IPv4Address, port: int) -> bool:
    ports = rule.get("ports")
    if ports is not None and not any(p["port"] == port and p["protocol"] == "TCP" for p in ports):
        return False
    for peer in rule.get("to", []):
        block = peer.get("ipBlock")
        if block is None:
            continue  # pod and namespace selectors never match an outside address
        inside = address in IPv4Network(block["cidr"])
        excepted = any(address in IPv4Network(cidr) for cidr in block.get("except", []))
        if inside and not excepted:
            return True
    return "to" not in rule and ports is not None  # ports only: any destination


def _notifier_may_reach(policies: dict[str, Manifest], address: str, port: int) -> bool:
    labels = selector(contract.NOTIFIER)
    return any(
        _ip_allowed(rule, IPv4Address(address), port)
        for policy in policies.values()
        if "Egress" in policy["policyTypes"] and _selects(policy, labels)
        for rule in policy.get("egress", [])
    )


INTERNAL = ["127.0.0.1", "10.244.0.12", "10.96.0.1", "172.17.0.1", "192.168.1.10",
            "169.254.169.254", "100.64.0.7", "0.0.0.1", "224.0.0.1"]  # fmt: skip


@pytest.mark.parametrize("database_namespace", [None, "postgres"])
def test_the_notifier_reaches_public_https_and_no_internal_address_on_web_ports(
    database_namespace: str | None,
) -> None:
    policies = network_policies(_peers(database_namespace))
    assert _notifier_may_reach(policies, "93.184.215.14", contract.WEBHOOK_PORT)
    reached = [
        f"{address}:{port}"
        for address in INTERNAL
        for port in (contract.WEBHOOK_PORT, 80, 3500, 8000)
        if _notifier_may_reach(policies, address, port)
    ]
    assert reached == [], f"the notifier's egress lets webhooks reach {reached}"
    assert not _notifier_may_reach(policies, "93.184.215.14", 80), "plain http leaves the pod"


def test_the_webhook_egress_excepts_exactly_the_declared_non_public_ranges() -> None:
    policy = network_policies(_peers(None))["allow-webhook-egress"]
    assert policy["podSelector"] == {"matchLabels": selector(contract.NOTIFIER)}
    [rule] = policy["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": contract.WEBHOOK_PORT}]
    [peer] = rule["to"]
    assert peer["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert peer["ipBlock"]["except"] == list(contract.NON_PUBLIC_IPV4_RANGES)
