"""Every stack's pods fit its nodes, with room for one node to drain (model: capacity.py)."""

from __future__ import annotations

import pytest

from tests.infra import capacity
from tests.infra.capacity import Pod, Pool, Requests, requests
from tests.infra.stacks import recording, stack_config


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_doks_pods_fit_the_pools_with_any_one_node_drained(stack: str) -> None:
    rec = recording(stack)
    pods = capacity.stack_pods(rec, managed=True)
    daemons = capacity.per_node(rec, managed=True)
    pools = capacity.doks_pools(rec)
    problems = [
        f"{stack}, {scenario}: {problem}"
        for scenario, remaining in [("all nodes up", pools), *capacity.drained(pools)]
        for problem in capacity.shortfalls(pods, remaining, daemons)
    ]
    assert not problems, "\n".join(problems)


def test_local_pods_fit_one_kind_node() -> None:
    # One node cannot drain into another: kind's single node is the whole cluster.
    rec = recording("local")
    pools = [Pool("kind", "kind", 1, capacity.KIND_NODE)]
    pods = capacity.stack_pods(rec, managed=False)
    problems = capacity.shortfalls(pods, pools, capacity.per_node(rec, managed=False))
    assert not problems, "\n".join(problems)


def test_every_stack_counts_the_pods_that_matter(stack: str) -> None:
    rec = recording(stack)
    names = {pod.name.rsplit("-", 1)[0] for pod in capacity.stack_pods(rec, managed=True)}
    assert {"api", "relay", "notifier", "recurrer", "redpanda", "prometheus"} <= names, names
    assert {"otel-collector", "tempo"} <= names, names


def test_a_lag_scaled_worker_counts_at_its_scaled_object_ceiling() -> None:
    rec = recording("prod")
    config = stack_config("prod")
    pods = [pod.name for pod in capacity.stack_pods(rec, managed=True)]
    for worker in ("notifier", "recurrer"):
        ceiling = config.services[worker].max_replicas
        assert ceiling > config.services[worker].replicas, f"{worker} is not autoscaled in prod"
        assert sum(name.rsplit("-", 1)[0] == worker for name in pods) == ceiling, worker
    assert {"keda-operator", "keda-metricServer", "keda-webhooks"} <= set(pods)


def test_a_pod_larger_than_any_node_is_reported_with_its_shortfall() -> None:
    pools = [Pool("workers", "s-4vcpu-8gb", 3, requests("3900m", "6Gi"))]
    broker = Pod("redpanda-0", requests("2", "6Gi"), "workers", "redpanda")
    [problem] = capacity.shortfalls([broker], pools, requests("300m", "400Mi"))
    assert "redpanda-0" in problem, problem
    assert "short by cpu 0m, memory 400Mi" in problem, problem


def test_hard_anti_affinity_needs_a_node_per_pod() -> None:
    pools = [Pool("workers", "s-4vcpu-8gb", 2, requests("4", "8Gi"))]
    brokers = [Pod(f"redpanda-{i}", requests("1", "1Gi"), "workers", "redpanda") for i in range(3)]
    [problem] = capacity.shortfalls(brokers, pools, Requests())
    assert "anti-affinity" in problem, problem


def test_a_pod_selecting_a_pool_never_lands_on_another() -> None:
    pools = [
        Pool("system", "s-2vcpu-4gb", 1, requests("2", "4Gi")),
        Pool("workers", "s-2vcpu-4gb", 1, requests("2", "1Gi")),
    ]
    [problem] = capacity.shortfalls(
        [Pod("api-0", requests("1", "2Gi"), "workers")], pools, Requests()
    )
    assert "workers pool" in problem, problem


def test_quantities_parse_as_the_scheduler_reads_them() -> None:
    assert requests("1500m", "1536Mi") == Requests(memory=1536, cpu=1500)
    assert requests(2, "2Gi") == Requests(memory=2048, cpu=2000)
    assert requests("0.5", "1G") == Requests(memory=954, cpu=500)


def test_brokers_without_requests_ask_their_limits_and_did_not_fit_prod() -> None:
    # The values prod had before the brokers got explicit requests (chart legacy mode).
    legacy = {
        "resources": {"cpu": {"cores": "2"}, "memory": {"container": {"max": "6Gi"}}},
        "statefulset": {
            "replicas": 3,
            "podAntiAffinity": {"type": "hard"},
            "podTemplate": {"spec": {"nodeSelector": {capacity.POOL_LABEL: "workers"}}},
        },
    }
    brokers = list(capacity.CHART_PODS["redpanda"](legacy))
    assert {pod.requests for pod in brokers} == {requests("2", "6Gi")}
    rec = recording("prod")
    problems = capacity.shortfalls(
        brokers, capacity.doks_pools(rec), capacity.per_node(rec, managed=True)
    )
    assert len(problems) == 3, problems
    assert all("short by cpu 0m, memory" in problem for problem in problems), problems
