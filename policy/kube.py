"""Where pod specs, containers and labels sit inside Kubernetes resource inputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.model import Resource, dig, is_unknown, mapping, sequence

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA_TYPES = (
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
)

# Pulumi type token -> the path from the inputs to the pod template (metadata + spec).
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    DEPLOYMENT: ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
    "kubernetes:core/v1:ReplicationController": ("spec", "template"),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
    "kubernetes:core/v1:Pod": (),
}
WORKLOAD_TYPES = frozenset(_TEMPLATE_PATHS)


def pod_template(resource_type: str, inputs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod (``metadata`` + ``spec``) a workload runs, or None for non-workloads."""
    path = _TEMPLATE_PATHS.get(resource_type)
    if path is None:
        return None
    return mapping(dig(inputs, *path)) if path else inputs


def pod_spec(resource_type: str, inputs: Mapping[str, Any]) -> Mapping[str, Any] | None:
    template = pod_template(resource_type, inputs)
    return None if template is None else mapping(template.get("spec"))


def pod_annotations(resource_type: str, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(dig(pod_template(resource_type, inputs), "metadata", "annotations"))


def containers(resource_type: str, inputs: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container and init container of a workload's pod."""
    spec = pod_spec(resource_type, inputs)
    if spec is None:
        return
    for key in ("initContainers", "containers"):
        for container in sequence(spec.get(key)):
            if isinstance(container, Mapping):
                yield container


def container_label(container: Mapping[str, Any]) -> str:
    name = container.get("name")
    return f"container {name!r}" if isinstance(name, str) else "a container"


def namespace(inputs: Mapping[str, Any]) -> Any:
    value = dig(inputs, "metadata", "namespace")
    return "default" if value is None or value == "" else value


def same_namespace(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    """Namespaces equal, or one is not known yet (judged again once it is)."""
    a, b = namespace(left), namespace(right)
    return is_unknown(a) or is_unknown(b) or a == b


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Kubernetes label-selector semantics; an empty selector matches everything."""
    selector = mapping(selector)
    for key, value in mapping(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for requirement in sequence(selector.get("matchExpressions")):
        if not _requirement_holds(mapping(requirement), labels):
            return False
    return True


def _requirement_holds(requirement: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key = str(requirement.get("key"))
    operator = requirement.get("operator")
    values: Sequence[Any] = sequence(requirement.get("values"))
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    return False


def template_labels(resource: Resource) -> Mapping[str, Any]:
    return mapping(dig(pod_template(resource.type, resource.inputs), "metadata", "labels"))


def metadata_name(inputs: Mapping[str, Any]) -> Any:
    return dig(inputs, "metadata", "name")
