"""Small, valid-by-default resources for the policy tests; each test breaks one thing."""

from __future__ import annotations

import copy
from typing import Any

from policy.model import Resource

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DATABASE_DB = "digitalocean:index/databaseDb:DatabaseDb"
DATABASE_USER = "digitalocean:index/databaseUser:DatabaseUser"
VPC = "digitalocean:index/vpc:Vpc"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"

APP_LABELS = {"app.kubernetes.io/name": "taskstream-api"}


def container(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "api",
        "image": "registry.digitalocean.com/taskstream/taskstream:3f2a9c1",
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "env": [
            {"name": "TASKSTREAM_ENVIRONMENT", "value": "prod"},
            {
                "name": "TASKSTREAM_JWT_SECRET",
                "valueFrom": {"secretKeyRef": {"name": "taskstream", "key": "jwt-secret"}},
            },
        ],
    }
    spec.update(overrides)
    return spec


def deployment_inputs(
    *,
    containers: list[dict[str, Any]] | None = None,
    replicas: int | None = 2,
    annotations: dict[str, Any] | None = None,
    pod_spec: dict[str, Any] | None = None,
    name: str = "taskstream-api",
) -> dict[str, Any]:
    template_spec: dict[str, Any] = {"containers": containers or [container()]}
    template_spec.update(pod_spec or {})
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(APP_LABELS)},
        "template": {
            "metadata": {"labels": dict(APP_LABELS), "annotations": annotations or {}},
            "spec": template_spec,
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"metadata": {"name": name, "namespace": "taskstream"}, "spec": spec}


def deployment(name: str = "api", **kwargs: Any) -> Resource:
    return Resource(DEPLOYMENT, name, deployment_inputs(**kwargs))


def pdb(selector: dict[str, Any] | None = None, namespace: str = "taskstream") -> Resource:
    chosen = {"matchLabels": dict(APP_LABELS)} if selector is None else selector
    return Resource(
        PDB,
        "api-pdb",
        {
            "metadata": {"name": "taskstream-api", "namespace": namespace},
            "spec": {"minAvailable": 1, "selector": copy.deepcopy(chosen)},
        },
    )


def hpa(min_replicas: int | None, target: str = "taskstream-api") -> Resource:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
        "maxReplicas": 6,
    }
    if min_replicas is not None:
        spec["minReplicas"] = min_replicas
    return Resource(HPA, "api-hpa", {"metadata": {"namespace": "taskstream"}, "spec": spec})


def service(service_type: str, labels: dict[str, str] | None = None) -> Resource:
    return Resource(
        SERVICE,
        "api-svc",
        {
            "metadata": {"name": "taskstream-api", "labels": labels or {}},
            "spec": {"type": service_type, "ports": [{"port": 80, "targetPort": 8000}]},
        },
    )


def healthy_prod_stack() -> list[Resource]:
    """A prod stack every rule accepts; tests swap one resource for a broken one."""
    return [
        Resource(VPC, "vpc", {"name": "taskstream-prod-vpc", "ipRange": "10.120.0.0/20"}, True),
        Resource(
            CLUSTER,
            "cluster",
            {
                "name": "taskstream-prod",
                "version": "1.33.1-do.0",
                "destroyAllAssociatedResources": True,
            },
            True,
        ),
        Resource(DATABASE, "db", {"engine": "pg", "version": "16", "nodeCount": 2}, True),
        Resource(DATABASE_DB, "db-db", {"name": "taskstream", "clusterId": "db-id"}, True),
        Resource(DATABASE_USER, "db-user", {"name": "taskstream", "clusterId": "db-id"}, True),
        deployment(),
        pdb(),
        service("ClusterIP"),
    ]


def single(found: list[str]) -> str:
    """The one message a broken resource should produce."""
    assert len(found) == 1, f"expected exactly one violation, got {found}"
    return found[0]
