"""Each stack's NetworkPolicies, proven by network-config-analyzer against the flow table."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.network_flows import network
from infra.render.recording import Recording
from tests.infra import network_analysis, network_analyzer
from tests.infra.stacks import recording, stack_config

Manifest = dict[str, Any]


def _objects(recorded: Recording, stack: str) -> list[Manifest]:
    return network_analysis.with_stand_ins(
        network_analysis.rendered_objects(recorded), network(stack_config(stack))
    )


def _dev() -> list[Manifest]:
    # The checks of the check need one stack only; the stack fixture would run them thrice.
    return _objects(recording("dev"), "dev")


def _problems(objects: list[Manifest], stack: str) -> list[str]:
    return network_analysis.check(objects, network(stack_config(stack)))


def test_every_needed_flow_is_allowed_and_every_other_connection_of_ours_is_denied(
    recorded: Recording, stack: str
) -> None:
    problems = _problems(_objects(recorded, stack), stack)

    assert problems == [], f"{stack}:\n" + "\n".join(problems)


def _with_fake_workload(objects: list[Manifest]) -> list[Manifest]:
    labels = {"app.kubernetes.io/name": "taskstream-exporter"}
    fake = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "exporter", "namespace": "taskstream"},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "exporter", "image": "exporter"}]},
            },
        },
    }
    return [*objects, fake]


def test_a_new_workload_without_its_flows_fails_the_check() -> None:
    problems = _problems(_with_fake_workload(_dev()), "dev")
    assert any("taskstream/exporter" in p and "declares no flow" in p for p in problems), problems


def _without_policies(objects: list[Manifest], namespace: str, *names: str) -> list[Manifest]:
    return [
        o
        for o in objects
        if not (
            o["kind"] == "NetworkPolicy"
            and o["metadata"]["namespace"] == namespace
            and (not names or o["metadata"]["name"] in names)
        )
    ]


def test_a_needed_flow_the_policies_deny_fails_the_check() -> None:
    objects = _without_policies(_dev(), "taskstream", "allow-broker-egress")
    problems = _problems(objects, "dev")
    assert any(
        p.startswith("taskstream/relay -> redpanda/") and "is denied: TCP 9093" in p
        for p in problems
    ), problems


def test_the_redpanda_namespace_without_policies_is_open_to_every_pod() -> None:
    # The state before the redpanda namespace had NetworkPolicies (defect 5, second half).
    problems = _problems(_without_policies(_dev(), "redpanda"), "dev")
    assert any(
        p.startswith("stranger/bystander -> redpanda/redpanda-brokers is allowed") for p in problems
    ), problems


def test_an_allowance_wider_than_the_table_fails_the_check() -> None:
    objects = copy.deepcopy(_dev())
    [scrape] = [o for o in objects if o["metadata"].get("name") == "allow-metrics-scrape"]
    # Any pod of the monitoring namespace, not only Prometheus: Grafana could reach the API.
    del scrape["spec"]["ingress"][0]["from"][0]["podSelector"]
    problems = _problems(objects, "dev")
    assert any(
        p.startswith("monitoring/bystander -> taskstream/api is allowed") for p in problems
    ), problems


# The analyzer itself, on the semantics the Kubernetes documentation gives
# (kubernetes.io/docs/concepts/services-networking/network-policies, "Behavior of to and
# from selectors"): one peer with both selectors is AND, two peers are OR.
def _tiny_cluster(peers: list[Manifest]) -> list[Manifest]:
    def namespace(name: str) -> Manifest:
        labels = {"kubernetes.io/metadata.name": name}
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": labels},
        }

    def pod(name: str, namespace: str, role: str) -> Manifest:
        labels = {"role": role}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                },
            },
        }

    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "db", "namespace": "data"},
        "spec": {
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": 5432}]}],
        },
    }
    return [
        namespace("data"),
        namespace("web"),
        pod("db", "data", "db"),
        pod("client", "web", "client"),
        pod("other", "web", "other"),
        pod("neighbour", "data", "client"),
        policy,
    ]


@pytest.mark.parametrize(
    ("peers", "reaching"),
    [
        (
            [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "web"}},
                    "podSelector": {"matchLabels": {"role": "client"}},
                }
            ],
            {"web/client"},
        ),
        (
            [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "web"}}},
                {"podSelector": {"matchLabels": {"role": "client"}}},
            ],
            {"web/client", "web/other", "data/neighbour"},
        ),
    ],
    ids=["one-peer-is-and", "two-peers-are-or"],
)
def test_the_analyzer_reads_selectors_as_kubernetes_documents(
    peers: list[Manifest], reaching: set[str]
) -> None:
    allowed = network_analyzer.analyze(_tiny_cluster(peers))
    found = {
        f"{source[1]}/{source[2]}"
        for (source, destination), connections in allowed.items()
        if destination == ("pod", "data", "db") and connections.allows("TCP", 5432)
    }
    assert found == reaching
