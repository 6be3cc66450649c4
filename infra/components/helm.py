"""One way to install a pinned chart as a Helm release (hooks run, unlike helm.v4.Chart)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components.placement import InCluster, api
from infra.versions import Chart


def release(
    name: str,
    *,
    chart: Chart,
    namespace: pulumi.Input[str],
    values: dict[str, Any],
    placement: InCluster,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
    timeout_seconds: int = 600,
) -> pulumi.Resource:
    """A helm.v3.Release of `chart` at its pinned version; the release name equals `name`.

    The chart comes from `placement.chart_repository` when set (a mirror serving every pinned
    chart), else from its own repository. When the provider only renders YAML, the release
    is a placeholder component that dependents can still wait on: the provider cannot create
    a helm.v3.Release without an API server ("can't create Helm Release with unreachable
    cluster").
    """
    if placement.render_only:
        return _NotRendered(name, chart, parent)
    mirror = placement.chart_repository
    # Helm takes an OCI chart as one URL and refuses a repository beside it.
    from_oci = chart.oci and mirror is None
    return k8s.helm.v3.Release(
        name,
        name=name,
        chart=f"{chart.repository}/{chart.name}" if from_oci else chart.name,
        version=chart.version,
        repository_opts=None
        if from_oci
        else k8s.helm.v3.RepositoryOptsArgs(repo=mirror or chart.repository),
        namespace=namespace,
        values=values,
        # Redpanda's and kube-prometheus-stack's hook Jobs must finish before dependents start.
        wait_for_jobs=True,
        timeout=timeout_seconds,
        cleanup_on_fail=True,
        max_history=5,
        opts=placement.opts(parent, depends_on=depends_on),
    )


def namespace(
    name: str, *, placement: InCluster, parent: pulumi.Resource, labels: dict[str, str]
) -> k8s.core.v1.Namespace:
    """A namespace with a fixed name, so charts and policies can refer to it."""
    return k8s.core.v1.Namespace(
        f"{name}-ns",
        metadata=api({"name": name, "labels": labels}),
        opts=placement.opts(parent),
    )


class _NotRendered(pulumi.ComponentResource):
    """Where a Helm release would be, in a render-only stack: its chart, nothing installed."""

    def __init__(self, name: str, chart: Chart, parent: pulumi.Resource) -> None:
        super().__init__(
            "taskstream:platform:UnrenderedHelmRelease",
            name,
            None,
            pulumi.ResourceOptions(parent=parent),
        )
        self.register_outputs({"chart": chart.name, "version": chart.version})
