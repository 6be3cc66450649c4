"""The trace path in the cluster: an OpenTelemetry Collector in front of Grafana Tempo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra import versions
from infra.components import helm, monitoring
from infra.components.placement import InCluster, api, labels
from infra.components.tracing_specs import (
    COLLECTOR_RELEASE,
    NAMESPACE,
    TEMPO_RELEASE,
    TracingPeers,
    collector_values,
    network_policies,
    tempo_values,
)
from infra.config_model import TracingConfig

# How the grafana subchart of kube-prometheus-stack labels its pod (grafana/helm-charts
# charts/grafana/templates/_helpers.tpl, grafana.selectorLabels).
GRAFANA_POD_LABELS = {"app.kubernetes.io/name": "grafana"}


@dataclass(frozen=True)
class TracingArgs:
    config: TracingConfig
    placement: InCluster
    ha: bool
    # The namespace whose pods send spans (the app's, with each daprd).
    client_namespace: str
    depends_on: Sequence[pulumi.Resource] = ()


class Tracing(pulumi.ComponentResource):
    """Creates the tracing namespace with its NetworkPolicies, the Tempo release (traces on a
    PVC) and the OpenTelemetry Collector release that forwards OTLP to it.

    Grafana's Tempo data source is part of the kube-prometheus-stack values (Monitoring).

    Outputs: collector (the release the app may wait on), trace_store.
    """

    def __init__(self, name: str, args: TracingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("taskstream:platform:Tracing", name, None, opts)
        placement = args.placement
        ns = helm.namespace(NAMESPACE, placement=placement, parent=self, labels=labels("tracing"))
        peers = TracingPeers(
            client_namespace=args.client_namespace,
            grafana_namespace=monitoring.NAMESPACE,
            grafana_pod_labels=GRAFANA_POD_LABELS,
        )
        self.policies = [
            k8s.networking.v1.NetworkPolicy(
                f"tracing-netpol-{policy}",
                metadata=api({"name": policy, "namespace": NAMESPACE, "labels": labels("network")}),
                spec=api(spec),
                opts=placement.opts(self, depends_on=[ns]),
            )
            for policy, spec in network_policies(peers).items()
        ]
        node_selector = placement.workload_nodes
        self.trace_store = helm.release(
            TEMPO_RELEASE,
            chart=versions.TEMPO,
            namespace=NAMESPACE,
            values=tempo_values(args.config, ha=args.ha, node_selector=node_selector),
            placement=placement,
            parent=self,
            depends_on=[ns, *self.policies, *args.depends_on],
        )
        self.collector = helm.release(
            COLLECTOR_RELEASE,
            chart=versions.OPENTELEMETRY_COLLECTOR,
            namespace=NAMESPACE,
            values=collector_values(ha=args.ha, node_selector=node_selector),
            placement=placement,
            parent=self,
            depends_on=[ns, *self.policies, self.trace_store],
        )
        self.register_outputs({"namespace": NAMESPACE})
