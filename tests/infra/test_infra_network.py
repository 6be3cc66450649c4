"""The app's NetworkPolicies: the notifier reaches public HTTPS only, never internal addresses;
only the edge's proxies reach the API and cert-manager's HTTP-01 solver."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from app import contract
from infra.components import edge
from infra.components.app_network import Peers, network_policies
from infra.components.app_workloads import selector
from tests.infra.stacks import recording

Manifest = dict[str, Any]


def _peers(database_namespace: str | None) -> Peers:
    return Peers(
        edge_namespace=edge.EDGE_NAMESPACE,
        edge_pod_labels=dict(edge.PROXY_POD_LABELS),
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


APP_NAMESPACE = "taskstream"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
# A proxy pod as Envoy Gateway labels it, and a solver pod as cert-manager labels it.
PROXY = {**edge.PROXY_POD_LABELS, "gateway.envoyproxy.io/owning-gateway-namespace": APP_NAMESPACE}
SOLVER = {
    **edge.ACME_SOLVER_POD_LABELS,
    "acme.cert-manager.io/http-domain": "1234",
    "acme.cert-manager.io/http-token": "5678",
}
CONTROLLER = {"app.kubernetes.io/name": "gateway-helm", "control-plane": "envoy-gateway"}


def _matches(selector_: Manifest, labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector_.get("matchLabels", {}).items())


def _peer_admits(peer: Manifest, namespace: str, labels: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        return False  # pods are addressed by selectors here, never by ranges
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        in_namespace = namespace == APP_NAMESPACE  # a bare podSelector means the policy's own
    else:
        in_namespace = _matches(namespace_selector, {"kubernetes.io/metadata.name": namespace})
    return in_namespace and _matches(peer.get("podSelector", {}), labels)


def _may_connect(
    policies: dict[str, Manifest],
    *,
    source: tuple[str, dict[str, str]],
    target: dict[str, str],
    port: int,
) -> bool:
    """Whether any ingress rule of the app namespace admits the source pod to `target`'s port."""
    for policy in policies.values():
        if "Ingress" not in policy["policyTypes"] or not _matches(policy["podSelector"], target):
            continue
        for rule in policy.get("ingress", []):
            ports = rule.get("ports")
            if ports is not None and not any(p["port"] == port for p in ports):
                continue
            if "from" not in rule or any(_peer_admits(p, *source) for p in rule["from"]):
                return True
    return False


def test_the_edge_proxies_reach_the_acme_solver_when_the_stack_has_tls() -> None:
    policies = network_policies(_peers(None), acme_http01=True)
    assert _may_connect(
        policies, source=(edge.EDGE_NAMESPACE, PROXY), target=SOLVER, port=edge.ACME_SOLVER_PORT
    ), "Let's Encrypt's HTTP-01 request dies at the solver pod: the certificate never issues"


@pytest.mark.parametrize(
    ("source", "port"),
    [
        ((edge.EDGE_NAMESPACE, CONTROLLER), edge.ACME_SOLVER_PORT),
        ((APP_NAMESPACE, selector(contract.API)), edge.ACME_SOLVER_PORT),
        (("default", PROXY), edge.ACME_SOLVER_PORT),
        (("monitoring", {"app.kubernetes.io/name": "prometheus"}), edge.ACME_SOLVER_PORT),
        ((edge.EDGE_NAMESPACE, PROXY), 8000),
    ],
    ids=["edge-controller", "app-pod", "look-alike-elsewhere", "prometheus", "other-port"],
)
def test_nothing_but_the_edge_proxies_reaches_the_solver(
    source: tuple[str, dict[str, str]], port: int
) -> None:
    policies = network_policies(_peers(None), acme_http01=True)
    assert not _may_connect(policies, source=source, target=SOLVER, port=port), (
        f"{source} reaches the solver pod on {port}"
    )


def test_the_edge_proxies_reach_the_api_and_no_other_process() -> None:
    policies = network_policies(_peers(None), acme_http01=True)
    proxy = (edge.EDGE_NAMESPACE, PROXY)
    assert _may_connect(policies, source=proxy, target=selector(contract.API), port=8000)
    reached = [
        process.name
        for process in contract.PROCESSES
        if not process.serves_http_api
        and _may_connect(policies, source=proxy, target=selector(process), port=process.port)
    ]
    assert reached == [], f"the edge reaches {reached}"
    assert not _may_connect(
        policies,
        source=(edge.EDGE_NAMESPACE, CONTROLLER),
        target=selector(contract.API),
        port=8000,
    ), "every pod of the edge namespace reaches the API, not only the proxies"


@pytest.mark.parametrize(("stack", "solver"), [("dev", True), ("prod", True), ("local", False)])
def test_a_stack_opens_the_solver_path_exactly_when_it_issues_certificates(
    stack: str, solver: bool
) -> None:
    policies = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in recording(stack).of_type(NETWORK_POLICY)
    }
    reaches = _may_connect(
        policies, source=(edge.EDGE_NAMESPACE, PROXY), target=SOLVER, port=edge.ACME_SOLVER_PORT
    )
    assert reaches is solver, f"{stack}: solver reachable={reaches}, issues certificates={solver}"
