"""metrics-server: the resource metrics API (metrics.k8s.io) that HPAs and `kubectl top` read."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra import chart_values, versions
from infra.components import helm
from infra.components.placement import InCluster

# Where the metrics API conventionally lives; the namespace exists on every cluster.
NAMESPACE = "kube-system"


@dataclass(frozen=True)
class MetricsApiArgs:
    placement: InCluster
    ha: bool


class MetricsApi(pulumi.ComponentResource):
    """Creates the metrics-server release, which registers the v1beta1.metrics.k8s.io APIService.

    DOKS does not ship metrics-server, and kube-prometheus-stack serves no metrics API, so
    without it every HorizontalPodAutoscaler reports unknown metrics and never scales.

    Outputs: release.
    """

    def __init__(self, name: str, args: MetricsApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("taskstream:platform:MetricsApi", name, None, opts)
        self.release = helm.release(
            "metrics-server",
            chart=versions.METRICS_SERVER,
            namespace=NAMESPACE,
            values=chart_values.metrics_server_values(ha=args.ha),
            placement=args.placement,
            parent=self,
        )
        self.register_outputs({"namespace": NAMESPACE})
