"""Each platform rule accepts a compliant stack and names what is wrong with a broken one."""

from __future__ import annotations

import pytest
from policy_builders import (
    CLUSTER,
    DATABASE,
    deployment,
    hpa,
    pdb,
    service,
    single,
)

from policy.model import UNKNOWN, Resource
from policy.rules import evaluate


def messages(resources: list[Resource], rule: str, stack: str = "prod") -> list[str]:
    return [v.message for v in evaluate(resources, stack) if v.policy == rule]


@pytest.mark.parametrize("service_type", ["ClusterIP", "NodePort", None])
def test_a_service_that_is_not_a_load_balancer_passes(service_type: str | None) -> None:
    assert messages([service(str(service_type))], "no-load-balancer-services") == []


def test_a_load_balancer_service_fails() -> None:
    found = messages([service("LoadBalancer")], "no-load-balancer-services")
    assert "LoadBalancer" in single(found)


def test_the_edge_proxies_may_be_a_load_balancer() -> None:
    proxies = service(
        "LoadBalancer",
        labels={"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"},
    )
    assert messages([proxies], "no-load-balancer-services") == []


def test_the_retired_ingress_controller_is_no_longer_exempt() -> None:
    old = service("LoadBalancer", labels={"app.kubernetes.io/name": "ingress-nginx"})
    assert "LoadBalancer" in single(messages([old], "no-load-balancer-services"))


def test_a_prod_deployment_with_two_replicas_passes() -> None:
    assert messages([deployment(replicas=2), pdb()], "prod-replicas") == []


def test_replica_counts_arrive_from_the_engine_as_floats_and_still_count() -> None:
    resource = deployment()
    resource.inputs["spec"]["replicas"] = 2.0
    assert messages([resource, pdb()], "prod-replicas") == []
    resource.inputs["spec"]["replicas"] = 1.0
    assert "is 1;" in single(messages([resource, pdb()], "prod-replicas"))


@pytest.mark.parametrize("replicas", [1, 0, None])
def test_a_prod_deployment_with_fewer_than_two_replicas_fails(replicas: int | None) -> None:
    found = messages([deployment(replicas=replicas), pdb()], "prod-replicas")
    assert "at least 2" in single(found)


def test_a_single_replica_deployment_is_fine_in_dev() -> None:
    assert messages([deployment(replicas=1)], "prod-replicas", stack="dev") == []


def test_a_fully_qualified_prod_stack_name_counts_as_prod() -> None:
    found = messages([deployment(replicas=1)], "prod-replicas", stack="acme/taskstream/prod")
    assert found, "org/project/prod was not recognised as prod"


def test_an_autoscaled_prod_deployment_is_judged_by_its_hpa_floor() -> None:
    assert messages([deployment(replicas=None), hpa(2), pdb()], "prod-replicas") == []
    found = messages([deployment(replicas=3), hpa(None), pdb()], "prod-replicas")
    assert "minReplicas" in single(found)


def test_an_hpa_for_another_deployment_does_not_count() -> None:
    found = messages([deployment(replicas=1), hpa(3, target="taskstream-relay")], "prod-replicas")
    assert len(found) == 1, found


def test_a_prod_deployment_selected_by_a_pdb_passes() -> None:
    assert messages([deployment(), pdb()], "prod-disruption-budget") == []


def test_a_pdb_selecting_by_expression_counts() -> None:
    expression = {
        "matchExpressions": [
            {"key": "app.kubernetes.io/name", "operator": "In", "values": ["taskstream-api"]}
        ]
    }
    assert messages([deployment(), pdb(expression)], "prod-disruption-budget") == []


def test_a_prod_deployment_without_a_pdb_fails() -> None:
    found = messages([deployment()], "prod-disruption-budget")
    assert "PodDisruptionBudget" in single(found)


@pytest.mark.parametrize(
    "unrelated",
    [
        pdb({"matchLabels": {"app.kubernetes.io/name": "taskstream-relay"}}),
        pdb(namespace="monitoring"),
    ],
    ids=["other-labels", "other-namespace"],
)
def test_a_pdb_for_other_pods_does_not_count(unrelated: Resource) -> None:
    assert messages([deployment(), unrelated], "prod-disruption-budget"), "PDB wrongly matched"


def test_dev_deployments_need_no_pdb() -> None:
    assert messages([deployment()], "prod-disruption-budget", stack="dev") == []


@pytest.mark.parametrize("resource_type", [DATABASE, CLUSTER])
def test_protected_prod_state_passes(resource_type: str) -> None:
    protected = Resource(resource_type, "state", {"name": "x"}, protect=True)
    assert messages([protected], "prod-protected-state") == []


@pytest.mark.parametrize("resource_type", [DATABASE, CLUSTER])
def test_unprotected_prod_state_fails(resource_type: str) -> None:
    found = messages([Resource(resource_type, "state", {"name": "x"})], "prod-protected-state")
    assert "protect=True" in single(found)


def test_unprotected_state_is_fine_in_dev() -> None:
    dev_db = Resource(DATABASE, "db", {"name": "x"}, protect=False)
    assert messages([dev_db], "prod-protected-state", stack="dev") == []


def test_a_namespace_not_known_yet_does_not_hide_a_matching_pdb() -> None:
    budget = pdb()
    budget.inputs["metadata"]["namespace"] = UNKNOWN
    assert messages([deployment(), budget], "prod-disruption-budget") == []


def test_prod_objects_whose_properties_are_not_known_yet_are_not_judged() -> None:
    # A preview before the cluster exists hands the pack Deployments and budgets bare.
    bare = Resource(deployment().type, "api", {"metadata": {"name": "taskstream-api"}})
    assert messages([bare], "prod-replicas") == []
    assert messages([bare], "prod-disruption-budget") == []
    bare_budget = Resource(pdb().type, "api-pdb", {"metadata": {"name": "taskstream-api"}})
    assert messages([deployment(replicas=3), bare_budget], "prod-disruption-budget") == []
    assert messages([deployment(replicas=3)], "prod-disruption-budget") != [], (
        "a known Deployment with no budget at all must still fail"
    )


METRICS_SERVER = Resource(
    "kubernetes:helm.sh/v3:Release", "metrics-server", {"chart": "metrics-server"}
)


def _on_cpu(resource: Resource) -> Resource:
    resource.inputs["spec"]["metrics"] = [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}
    ]
    return resource


def test_an_hpa_on_cpu_without_a_metrics_api_provider_fails() -> None:
    found = messages([deployment(), pdb(), _on_cpu(hpa(2))], "hpa-needs-metrics-api")
    assert "metrics.k8s.io" in single(found)


def test_an_hpa_without_metrics_defaults_to_cpu_and_needs_the_provider_too() -> None:
    assert messages([deployment(), pdb(), hpa(2)], "hpa-needs-metrics-api", stack="dev")


@pytest.mark.parametrize(
    "provider",
    [
        METRICS_SERVER,
        Resource("kubernetes:helm.sh/v3:Release", "ms", {"chart": "oci://example/metrics-server"}),
        Resource(
            "kubernetes:apiregistration.k8s.io/v1:APIService",
            "metrics",
            {"metadata": {"name": "v1beta1.metrics.k8s.io"}},
        ),
    ],
)
def test_an_hpa_on_cpu_with_a_metrics_api_provider_passes(provider: Resource) -> None:
    resources = [deployment(), pdb(), _on_cpu(hpa(2)), provider]
    assert messages(resources, "hpa-needs-metrics-api") == []


def _scaled_object(*triggers: str) -> Resource:
    return Resource(
        "kubernetes:keda.sh/v1alpha1:ScaledObject",
        "notifier",
        {
            "metadata": {"name": "notifier"},
            "spec": {
                "scaleTargetRef": {"name": "notifier"},
                "triggers": [{"type": t, "metadata": {}} for t in triggers],
            },
        },
    )


def test_a_scaled_object_with_a_cpu_trigger_needs_the_metrics_api() -> None:
    found = messages([deployment(), pdb(), _scaled_object("kafka", "cpu")], "hpa-needs-metrics-api")
    assert "metrics.k8s.io" in single(found)
    with_provider = [deployment(), pdb(), _scaled_object("kafka", "cpu"), METRICS_SERVER]
    assert messages(with_provider, "hpa-needs-metrics-api") == []


def test_a_scaled_object_on_lag_alone_needs_no_metrics_api() -> None:
    assert messages([deployment(), pdb(), _scaled_object("kafka")], "hpa-needs-metrics-api") == []


def test_an_hpa_on_external_metrics_only_needs_no_resource_metrics_api() -> None:
    external = hpa(2)
    external.inputs["spec"]["metrics"] = [{"type": "External", "external": {}}]
    assert messages([deployment(), pdb(), external], "hpa-needs-metrics-api") == []
