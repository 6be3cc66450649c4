"""Rules about the platform around the pods: exposure, availability in prod, protected state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policy.kube import (
    DEPLOYMENT,
    HPA_TYPES,
    PDB,
    SERVICE,
    metadata_name,
    same_namespace,
    selector_matches,
    template_labels,
)
from policy.model import Context, Resource, dig, is_unknown, mapping, of_type, sequence

PROD_MIN_REPLICAS = 2
# Resources whose loss is data loss or an outage; prod must declare them with protect=True.
# The database and its user live inside the cluster: `destroy --exclude-protected` keeps only
# what is itself protected (Pulumi docs, `pulumi destroy --exclude-protected`), so protecting
# the cluster alone would still drop the app's database and the role owning its tables.
PROTECTED_IN_PROD: dict[str, str] = {
    "digitalocean:index/databaseCluster:DatabaseCluster": "the managed PostgreSQL cluster",
    "digitalocean:index/databaseDb:DatabaseDb": "the application database",
    "digitalocean:index/databaseUser:DatabaseUser": "the database user owning the app's tables",
    "digitalocean:index/kubernetesCluster:KubernetesCluster": "the Kubernetes cluster",
}
# The one Service allowed to be a cloud load balancer: the edge proxies'. Envoy Gateway
# creates it at run time (invisible here), but a rendered copy must not trip the rule; these
# are the labels Envoy Gateway v1.9.0 gives its proxy resources
# (internal/infrastructure/kubernetes/proxy/resource.go, EnvoyAppLabel).
_EDGE_PROXY_LABELS = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"}
# An HPA's Resource metrics come from the resource metrics API, metrics.k8s.io, which a cluster
# only has when an add-on registers it, "usually ... metrics-server" (Kubernetes docs,
# tasks/run-application/horizontal-pod-autoscale/#support-for-resource-metrics). DOKS and kind
# ship none, and kube-prometheus-stack registers none.
METRICS_API_CHARTS = frozenset({"metrics-server", "prometheus-adapter"})
METRICS_API_SERVICE = "v1beta1.metrics.k8s.io"
_APISERVICE = "kubernetes:apiregistration.k8s.io/v1:APIService"
_RELEASES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
_RESOURCE_METRICS = frozenset({"Resource", "ContainerResource"})
# KEDA turns a ScaledObject's cpu and memory triggers into Resource metrics of the HPA it
# creates (keda.sh/docs/2.20/scalers/cpu: "requires the Kubernetes Metrics Server").
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
_RESOURCE_TRIGGERS = frozenset({"cpu", "memory"})


def no_load_balancer(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """Only the edge's proxies are exposed through a LoadBalancer Service."""
    if resource_type != SERVICE or dig(inputs, "spec", "type") != "LoadBalancer":
        return []
    labels = mapping(dig(inputs, "metadata", "labels"))
    if all(labels.get(key) == value for key, value in _EDGE_PROXY_LABELS.items()):
        return []
    return [
        "Service is of type LoadBalancer; expose it through the edge (a ClusterIP Service and "
        "an HTTPRoute on the Gateway) instead of a cloud load balancer per service"
    ]


def prod_replicas(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """In prod a Deployment runs at least two pods (its HPA's minReplicas, if any, is the floor)."""
    if resource_type != DEPLOYMENT or not ctx.is_production or _not_known_yet(inputs):
        return []
    hpa = _autoscaler_for(inputs, ctx.resources)
    if hpa is not None:
        floor, source = (
            dig(hpa.inputs, "spec", "minReplicas"),
            "its HorizontalPodAutoscaler's minReplicas",
        )
    else:
        floor, source = dig(inputs, "spec", "replicas"), "spec.replicas"
    if is_unknown(floor):
        return []
    count = 1 if floor is None else floor
    # The engine passes every number as a float (protobuf Struct): 2.0 is two replicas.
    if isinstance(count, float) and count.is_integer():
        count = int(count)
    if isinstance(count, int) and not isinstance(count, bool) and count >= PROD_MIN_REPLICAS:
        return []
    return [
        f"{source} is {count}; a prod Deployment needs at least {PROD_MIN_REPLICAS} replicas "
        "to survive a node drain"
    ]


def prod_disruption_budget(
    resource_type: str, inputs: Mapping[str, Any], ctx: Context
) -> list[str]:
    """In prod every Deployment's pods are selected by a PodDisruptionBudget."""
    if resource_type != DEPLOYMENT or not ctx.is_production or _not_known_yet(inputs):
        return []
    labels = template_labels(Resource(resource_type, "", inputs))
    for pdb in of_type(ctx.resources, PDB):
        if _not_known_yet(pdb.inputs):
            return []  # cannot tell which pods it selects yet
        selector = dig(pdb.inputs, "spec", "selector")
        if not same_namespace(pdb.inputs, inputs):
            continue
        # policy/v1: an empty selector selects every pod in the namespace, a null one none.
        if is_unknown(selector) or (selector is not None and selector_matches(selector, labels)):
            return []
    return [
        "no PodDisruptionBudget selects this prod Deployment's pods; add one "
        "(e.g. minAvailable: 1) so voluntary disruptions cannot take every replica down"
    ]


def hpa_metrics_api(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """An HPA scaling on CPU or memory needs a metrics.k8s.io provider in the same stack."""
    if resource_type not in (*HPA_TYPES, SCALED_OBJECT) or _not_known_yet(inputs):
        return []
    if not _uses_resource_metrics(resource_type, mapping(inputs.get("spec"))):
        return []
    if any(_provides_metrics_api(resource) for resource in ctx.resources):
        return []
    return [
        "scales on Resource metrics, but nothing in the stack serves metrics.k8s.io; the HPA "
        "would never scale. Install metrics-server (or prometheus-adapter) with the stack"
    ]


def _uses_resource_metrics(resource_type: str, spec: Mapping[str, Any]) -> bool:
    if resource_type == SCALED_OBJECT:
        triggers = spec.get("triggers")
        return not is_unknown(triggers) and any(
            mapping(trigger).get("type") in _RESOURCE_TRIGGERS for trigger in sequence(triggers)
        )
    if resource_type.startswith("kubernetes:autoscaling/v1:"):
        return True  # v1 only scales on CPU utilisation (default 80%)
    metrics = spec.get("metrics")
    if is_unknown(metrics):
        return False
    # v2 without metrics defaults to 80% average CPU utilisation.
    return not metrics or any(
        mapping(metric).get("type") in _RESOURCE_METRICS for metric in sequence(metrics)
    )


def _provides_metrics_api(resource: Resource) -> bool:
    if resource.type == _APISERVICE:
        name = dig(resource.inputs, "metadata", "name")
        return is_unknown(name) or name == METRICS_API_SERVICE
    if resource.type in _RELEASES:
        chart = resource.inputs.get("chart")
        if is_unknown(chart):
            return True
        return isinstance(chart, str) and chart.rstrip("/").rsplit("/", 1)[-1] in METRICS_API_CHARTS
    return False


def protected_in_prod(resource_type: str, inputs: Mapping[str, Any], ctx: Context) -> list[str]:
    """In prod the database cluster, its database and user, and the DOKS cluster are protected."""
    what = PROTECTED_IN_PROD.get(resource_type)
    if what is None or not ctx.is_production or ctx.protect:
        return []
    return [f"{what} is not protected; declare it with ResourceOptions(protect=True) in prod"]


def _not_known_yet(inputs: Mapping[str, Any]) -> bool:
    """A workload object without any spec: its values are not known yet, not absent.

    In a preview of a stack whose cluster does not exist yet, the Kubernetes provider is
    unconfigured and the engine hands stack policies these objects without their
    properties; no real Deployment or PodDisruptionBudget lacks a spec.
    """
    return is_unknown(dig(inputs, "spec")) or dig(inputs, "spec") is None


def _autoscaler_for(inputs: Mapping[str, Any], resources: Sequence[Resource]) -> Resource | None:
    """The HorizontalPodAutoscaler scaling this Deployment, if the stack has one."""
    name = metadata_name(inputs)
    for hpa in of_type(resources, *HPA_TYPES):
        target = mapping(dig(hpa.inputs, "spec", "scaleTargetRef"))
        if target.get("kind") != "Deployment" or not same_namespace(hpa.inputs, inputs):
            continue
        target_name = target.get("name")
        if is_unknown(target_name) or is_unknown(name) or (name and target_name == name):
            return hpa
    return None
