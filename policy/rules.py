"""The taskstream policy rules as pure functions, and ``evaluate`` to run them all offline.

Nothing here imports pulumi_policy: the offline render and the tests call ``evaluate``
directly, and ``policy/__main__.py`` wraps the same ``RULES`` into a CrossGuard pack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from policy import digitalocean_rules, platform_rules, pod_rules, rbac_rules
from policy.model import Context, Resource, Rule, Violation, as_resource

RULES: tuple[Rule, ...] = (
    Rule(
        name="container-resources",
        description="Every container sets CPU and memory requests and limits.",
        check=pod_rules.container_resources,
    ),
    Rule(
        name="pinned-images",
        description="No container image is untagged or tagged 'latest'.",
        check=pod_rules.pinned_images,
    ),
    Rule(
        name="no-privilege",
        description="No privileged container and no hostNetwork, hostPID or hostIPC.",
        check=pod_rules.no_privilege,
    ),
    Rule(
        name="no-load-balancer-services",
        description="Only the edge proxies' Service may be of type LoadBalancer.",
        check=platform_rules.no_load_balancer,
    ),
    Rule(
        name="prod-replicas",
        description="In prod no Deployment runs fewer than 2 replicas.",
        check=platform_rules.prod_replicas,
        cross_resource=True,
    ),
    Rule(
        name="prod-disruption-budget",
        description="In prod every Deployment is selected by a PodDisruptionBudget.",
        check=platform_rules.prod_disruption_budget,
        cross_resource=True,
    ),
    Rule(
        name="hpa-needs-metrics-api",
        description=(
            "A HorizontalPodAutoscaler on Resource metrics, or a KEDA ScaledObject with a cpu "
            "or memory trigger, needs a metrics.k8s.io provider (metrics-server) in the stack; "
            "DOKS and kind ship none "
            "(kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/, "
            "keda.sh/docs/2.20/scalers/cpu/)."
        ),
        check=platform_rules.hpa_metrics_api,
        cross_resource=True,
    ),
    Rule(
        name="dapr-identity",
        description="A Dapr-enabled pod template sets dapr.io/app-id and dapr.io/config.",
        check=pod_rules.dapr_identity,
    ),
    Rule(
        name="dapr-sidecar-without-token",
        description=(
            "A Dapr-enabled pod with automountServiceAccountToken: false sets "
            'dapr.io/disable-builtin-k8s-secret-store: "true". In Kubernetes mode daprd loads '
            "the built-in Kubernetes secret store by default; it needs the pod's token, and a "
            "component that fails to initialise stops daprd (dapr/docs#5014)."
        ),
        check=pod_rules.dapr_sidecar_without_token,
    ),
    Rule(
        name="secrets-from-secret-objects",
        description="Secret-like environment variables come from secretKeyRef, never literals.",
        check=pod_rules.secret_env_from_secrets,
    ),
    Rule(
        name="prod-protected-state",
        description=(
            "In prod the DigitalOcean database cluster, its database and user, and the "
            "Kubernetes cluster are protected."
        ),
        check=platform_rules.protected_in_prod,
    ),
    Rule(
        name="vpc-range",
        description=(
            "A VPC sets an RFC 1918 ipRange of /16 to /24 clear of DOKS's pod and Service subnets."
        ),
        check=digitalocean_rules.vpc_range,
    ),
    Rule(
        name="registry-name",
        description="A created registry has a valid name of its own, not the bare project name.",
        check=digitalocean_rules.registry_name,
    ),
    Rule(
        name="registry-protected",
        description="The container registry every stack pulls from is protected.",
        check=digitalocean_rules.registry_protected,
    ),
    Rule(
        name="cluster-takes-its-cloud-resources",
        description=(
            "A DOKS cluster sets destroyAllAssociatedResources, so its load balancers and "
            "volumes go with it."
        ),
        check=digitalocean_rules.cluster_takes_its_cloud_resources,
    ),
    Rule(
        name="read-only-roles",
        description=(
            "A Role or ClusterRole labelled taskstream.io/access: read-only grants only get, "
            "list and watch, with no wildcard, no non-resource URL and no Secrets."
        ),
        check=rbac_rules.read_only_roles,
    ),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}


def check_resource(
    rule: Rule, resource: Resource, stack: str, resources: Sequence[Resource]
) -> list[Violation]:
    """One rule over one resource; ``resources`` is the whole stack for cross-resource rules."""
    ctx = Context(stack=stack, protect=resource.protect, resources=resources)
    return [
        Violation(rule.name, resource.type, resource.name, message)
        for message in rule.check(resource.type, resource.inputs, ctx)
    ]


def evaluate(resources: Iterable[Resource | Sequence[Any]], stack: str) -> list[Violation]:
    """Every rule over every resource of one stack, in resource order then rule order.

    Each resource is a ``Resource`` or a ``(type, name, inputs, protect)`` tuple, inputs
    in camelCase as the engine passes them; a value not known yet is ``policy.model.UNKNOWN``.
    """
    stack_resources = tuple(as_resource(item) for item in resources)
    violations: list[Violation] = []
    for resource in stack_resources:
        for rule in RULES:
            violations.extend(check_resource(rule, resource, stack, stack_resources))
    return violations
