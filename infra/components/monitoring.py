"""kube-prometheus-stack, Grafana dashboards, alert rules and the Dapr sidecar PodMonitor."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import alert_rules, chart_values, versions
from infra.components import helm
from infra.components.placement import InCluster, api, labels
from infra.config_model import MonitoringConfig

NAMESPACE = "monitoring"
RELEASE = "kube-prometheus-stack"
# prometheus-operator labels every Prometheus server pod so; Grafana and Alertmanager differ.
PROMETHEUS_POD_LABELS = {"app.kubernetes.io/name": "prometheus"}
GRAFANA_SERVICE = f"{RELEASE}-grafana"
DASHBOARDS_DIR = Path(__file__).resolve().parent.parent / "dashboards"


@dataclass(frozen=True)
class MonitoringArgs:
    config: MonitoringConfig
    placement: InCluster
    ha: bool
    managed_control_plane: bool
    app_namespace_name: str
    # Grafana data sources beside Prometheus and Alertmanager (the trace store's).
    data_sources: tuple[dict[str, Any], ...] = ()


class Monitoring(pulumi.ComponentResource):
    """Creates the monitoring namespace, a generated Grafana admin secret, the alert webhook
    secret, the kube-prometheus-stack release, dashboard ConfigMaps, the taskstream
    PrometheusRule and a PodMonitor for daprd sidecars.

    Outputs: release (CRDs ready for ServiceMonitors), grafana_service, grafana_password (secret).
    """

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        _validate(args)
        super().__init__("taskstream:platform:Monitoring", name, None, opts)
        placement = self._placement = args.placement
        self.namespace = helm.namespace(
            NAMESPACE, placement=placement, parent=self, labels=labels("monitoring")
        )
        secrets = [self._grafana_admin_secret(name), *self._alert_webhooks_secret(name, args)]
        self.release = helm.release(
            RELEASE,
            chart=versions.KUBE_PROMETHEUS_STACK,
            namespace=NAMESPACE,
            values=chart_values.kube_prometheus_stack_values(
                args.config,
                ha=args.ha,
                managed_control_plane=args.managed_control_plane,
                node_selector=placement.workload_nodes,
                data_sources=args.data_sources,
            ),
            placement=placement,
            parent=self,
            depends_on=[self.namespace, *secrets],
            timeout_seconds=900,
        )
        self.dashboards = [self._dashboard(path) for path in sorted(DASHBOARDS_DIR.glob("*.json"))]
        self.rules = k8s.apiextensions.CustomResource(
            "taskstream-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=api(
                {"name": "taskstream", "namespace": NAMESPACE, "labels": labels("alerts")}
            ),
            spec={"groups": alert_rules.rule_groups(args.app_namespace_name)},
            opts=placement.opts(self, depends_on=[self.release]),
        )
        self.dapr_pod_monitor = k8s.apiextensions.CustomResource(
            "dapr-sidecars",
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata=api(
                {"name": "dapr-sidecars", "namespace": NAMESPACE, "labels": labels("dapr")}
            ),
            spec={
                "namespaceSelector": {"matchNames": [args.app_namespace_name]},
                "selector": {"matchLabels": {"dapr.io/sidecar-injected": "true"}},
                "podMetricsEndpoints": [{"port": "dapr-metrics", "path": "/", "interval": "30s"}],
            },
            opts=placement.opts(self, depends_on=[self.release]),
        )
        self.grafana_service = f"{GRAFANA_SERVICE}.{NAMESPACE}.svc.cluster.local"
        self.register_outputs(
            {"grafana_service": self.grafana_service, "grafana_password": self.grafana_password}
        )

    def _grafana_admin_secret(self, name: str) -> k8s.core.v1.Secret:
        password = random.RandomPassword(
            f"{name}-grafana-admin",
            length=32,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grafana_password: pulumi.Output[str] = pulumi.Output.secret(password.result)
        return k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=api({"name": chart_values.GRAFANA_ADMIN_SECRET_NAME, "namespace": NAMESPACE}),
            type="Opaque",
            string_data={"admin-user": "admin", "admin-password": self.grafana_password},
            opts=self._placement.opts(self, depends_on=[self.namespace]),
        )

    def _alert_webhooks_secret(self, name: str, args: MonitoringArgs) -> list[k8s.core.v1.Secret]:
        webhooks = args.config.alert_webhook_urls
        if webhooks is None:
            return []
        # One file per receiver under /etc/alertmanager/secrets/<secret>/<receiver>.
        urls = pulumi.Output.secret(webhooks.value).apply(_parse_urls)
        return [
            k8s.core.v1.Secret(
                f"{name}-alert-webhooks",
                metadata=api(
                    {"name": chart_values.ALERT_WEBHOOKS_SECRET_NAME, "namespace": NAMESPACE}
                ),
                type="Opaque",
                string_data=urls,
                opts=self._placement.opts(self, depends_on=[self.namespace]),
            )
        ]

    def _dashboard(self, path: Path) -> k8s.core.v1.ConfigMap:
        # Grafana's sidecar loads every ConfigMap with this label, from any namespace.
        return k8s.core.v1.ConfigMap(
            f"dashboard-{path.stem}",
            metadata=api(
                {
                    "name": f"taskstream-dashboard-{path.stem}",
                    "namespace": NAMESPACE,
                    "labels": {**labels("dashboards"), chart_values.DASHBOARD_LABEL: "1"},
                }
            ),
            data={path.name: path.read_text(encoding="utf-8")},
            opts=self._placement.opts(self, depends_on=[self.namespace]),
        )


def _parse_urls(text: str) -> dict[str, str]:
    parsed = json.loads(text)
    return {str(key): str(value) for key, value in parsed.items()}


def _validate(args: MonitoringArgs) -> None:
    if not DASHBOARDS_DIR.is_dir() or not any(DASHBOARDS_DIR.glob("*.json")):
        raise ValueError(f"Monitoring: no dashboards found in {DASHBOARDS_DIR}; restore them")
    if args.config.alert_receivers and args.config.alert_webhook_urls is None:
        raise ValueError(
            "Monitoring: alert receivers need URLs; "
            "run `pulumi config set --secret alertWebhookUrls '{...}'`"
        )
