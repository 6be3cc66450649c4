"""How in-cluster children are placed: the explicit provider and the cluster they die with."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# Node label of the DOKS pools: the fixed default pool is "system", the autoscaled one "workers".
POOL_LABEL = "taskstream.io/pool"
SYSTEM_POOL = "system"
WORKER_POOL = "workers"


@dataclass(frozen=True)
class InCluster:
    """The Kubernetes provider every in-cluster child uses, and the cluster it is deleted with.

    `deleted_with` lets `pulumi destroy` drop the cluster without first deleting each object
    through an API server that is about to disappear.
    """

    provider: k8s.Provider
    deleted_with: pulumi.Resource | None = None
    # Where charts come from when not from their own repositories (see helm.release).
    chart_repository: str | None = None
    # The provider renders YAML to a directory: nothing can install a Helm release.
    render_only: bool = False
    # The nodeSelector of our workloads and the heavy chart pods (the worker pool on DOKS);
    # empty where the cluster's nodes carry no pool label (kind, minikube).
    workload_nodes: Mapping[str, str] = field(default_factory=dict)

    def opts(
        self,
        parent: pulumi.Resource,
        depends_on: Sequence[pulumi.Resource] = (),
        ignore_changes: Sequence[str] = (),
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent,
            provider=self.provider,
            deleted_with=self.deleted_with,
            depends_on=list(depends_on),
            ignore_changes=list(ignore_changes) or None,
        )


def labels(component: str, part_of: str = "taskstream") -> dict[str, str]:
    """The recommended app.kubernetes.io labels every object we declare carries."""
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": part_of,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def api(obj: dict[str, Any]) -> Any:
    """Pass a manifest fragment written in the Kubernetes API's own camelCase.

    The SDK's TypedDicts spell fields in snake_case; the wire format is camelCase and the SDK
    sends camelCase keys unchanged, so manifests read exactly like `kubectl` YAML.
    """
    return obj
