"""The Helm values each chart gets, as pure functions of the stack config (snapshot-tested)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infra import kafka_access, versions
from infra.config_model import MonitoringConfig, RedpandaConfig

Values = dict[str, Any]

REDPANDA_FULLNAME = "redpanda"
# Listener ports (chart defaults, set explicitly so NetworkPolicies can name them).
REDPANDA_KAFKA_PORT = 9093
# The chart's other internal listeners (charts/redpanda/chart/values.yaml, 25.3.8): brokers
# replicate over RPC, and the admin API serves metrics, cluster config and health.
REDPANDA_ADMIN_PORT = 9644
REDPANDA_RPC_PORT = 33145
# The chart's extra-superusers file (we list none: the bootstrap user is the only one) and
# the bootstrap user's password, both Secrets the EventBus creates before the release.
REDPANDA_USERS_SECRET_NAME = "redpanda-superusers"  # noqa: S105
REDPANDA_ADMIN_SECRET_NAME = "redpanda-admin"  # noqa: S105
REDPANDA_ADMIN_PASSWORD_KEY = "password"  # noqa: S105
# The cert-manager ClusterIssuer (a private CA) that signs the brokers' certificate and,
# from the same CA, the trust bundle clients in other namespaces verify it with.
REDPANDA_CA_ISSUER = "redpanda-ca"
# The chart names the Secret of its certificate "default" `<fullname>-default-cert`
# (charts/redpanda/values.go ServerSecretName, tag charts/redpanda/v25.3.8); cert-manager's
# CA issuer puts the CA beside it as ca.crt.
REDPANDA_TLS_SECRET_NAME = f"{REDPANDA_FULLNAME}-default-cert"
# Names of Kubernetes Secrets, not secret values.
GRAFANA_ADMIN_SECRET_NAME = "grafana-admin"  # noqa: S105
ALERT_WEBHOOKS_SECRET_NAME = "alert-webhooks"  # noqa: S105
DASHBOARD_LABEL = "grafana_dashboard"


def redpanda_brokers(namespace: str) -> str:
    """The internal Kafka listener, reached through the chart's headless service."""
    return f"{REDPANDA_FULLNAME}.{namespace}.svc.cluster.local:{REDPANDA_KAFKA_PORT}"


def redpanda_values(
    config: RedpandaConfig, *, node_selector: Mapping[str, str] | None = None
) -> Values:
    """Explicit values: chart defaults assume 3 brokers, TLS via cert-manager and NodePorts."""
    production = config.brokers >= 3
    values: Values = {
        "fullnameOverride": REDPANDA_FULLNAME,
        "image": {
            "repository": versions.REDPANDA_IMAGE_REPOSITORY,
            "tag": versions.REDPANDA_IMAGE_TAG,
        },
        "statefulset": {
            "replicas": config.brokers,
            # Hard anti-affinity would leave a 3-broker cluster unschedulable on two nodes.
            "podAntiAffinity": {
                "topologyKey": "kubernetes.io/hostname",
                "type": "hard" if production else "soft",
                "weight": 100,
            },
        },
        # Every listener (Kafka, admin, RPC) speaks TLS with a certificate from our CA.
        "tls": {
            "enabled": True,
            "certs": {
                "default": {
                    "issuerRef": {"name": REDPANDA_CA_ISSUER, "kind": "ClusterIssuer"},
                    # With an issuerRef the chart adds the in-cluster DNS names only if asked.
                    "applyInternalDNSNames": True,
                    "caEnabled": True,
                }
            },
        },
        "auth": {"sasl": _redpanda_sasl()},
        "listeners": _redpanda_listeners(),
        "external": {"enabled": False},
        "console": {"enabled": False},
        "logging": {"usageStats": {"enabled": False}},
        # The AIO tuner runs privileged; only worth it on dedicated production nodes.
        "tuning": {"tune_aio_events": production},
        "resources": redpanda_resources(config),
        "storage": {"persistentVolume": {"enabled": True, "size": config.storage}},
        "monitoring": {"enabled": True},
        "config": {
            "cluster": {
                # Topics are declared by the topic Job; a typo must fail, not create a topic.
                "auto_create_topics_enabled": False,
                "default_topic_replications": config.replication_factor,
                # Without it anyone reaching port 9644 could create users or superusers.
                # The chart passes the bootstrap user to its own admin clients
                # (charts/redpanda/render_state.go, v25.3.8).
                "admin_api_require_auth": True,
            }
        },
    }
    if node_selector:
        values["statefulset"]["podTemplate"] = {"spec": {"nodeSelector": dict(node_selector)}}
    return values


def redpanda_resources(config: RedpandaConfig) -> Values:
    """The brokers' resources in the chart's explicit mode: the pod asks exactly this.

    Without requests the chart leaves Kubernetes to copy the limits (cores and
    memory.container.max) into the requests. With both set, the chart derives --smp from the
    CPU request and --memory (90%) from the memory request, with no --reserve-memory
    (charts/redpanda/values.go, RedpandaResources, tag charts/redpanda/v25.3.8). Memory limit
    equals the request, so the kernel never kills the broker below Seastar's own bound; whole
    cores, since Seastar runs one reactor per core. cpu.cores and memory.container.max stay
    because the chart's schema requires them.
    """
    exact = {"cpu": config.cpu_cores, "memory": config.memory}
    return {
        "cpu": {"cores": config.cpu_cores},
        "memory": {"container": {"max": config.memory}},
        "requests": dict(exact),
        "limits": dict(exact),
    }


def _redpanda_sasl() -> Values:
    """SCRAM on every Kafka connection; the bootstrap user is the only superuser.

    Users listed in the chart's users file all become superusers (the config-watcher sets
    `superusers` to them, operator/internal/configwatcher), so the apps' users are created
    by the topic Job instead, with ACLs (infra.kafka_access).
    """
    return {
        "enabled": True,
        "mechanism": kafka_access.SASL_MECHANISM,
        "secretRef": REDPANDA_USERS_SECRET_NAME,
        "users": [],
        "bootstrapUser": {
            "name": kafka_access.ADMIN_USER,
            "mechanism": kafka_access.SASL_MECHANISM,
            "secretKeyRef": {
                "name": REDPANDA_ADMIN_SECRET_NAME,
                "key": REDPANDA_ADMIN_PASSWORD_KEY,
            },
        },
    }


def _redpanda_listeners() -> Values:
    """Kafka, admin and RPC on fixed ports; nothing external; no HTTP proxy or registry.

    An external listener left enabled would make the chart issue its `external` certificate
    from a CA of its own, though the brokers are never exposed.
    """
    no_external = {"default": {"enabled": False}}
    return {
        "kafka": {"port": REDPANDA_KAFKA_PORT, "external": no_external},
        "admin": {"port": REDPANDA_ADMIN_PORT, "external": no_external},
        "rpc": {"port": REDPANDA_RPC_PORT},
        "http": {"enabled": False, "external": no_external},
        "schemaRegistry": {"enabled": False, "external": no_external},
    }


def dapr_values(*, ha: bool) -> Values:
    return {
        "global": {
            "tag": versions.DAPR_VERSION,
            "ha": {"enabled": ha},
            "logAsJson": True,
            "mtls": {"enabled": True},
            "prometheus": {"enabled": True},
            # Nothing uses the Jobs API, actor reminders or workflows (docs/infra.md "Dapr
            # building blocks"), so no scheduler StatefulSet and no volumes for it (3 x 16Gi
            # in prod). The chart then starts the injector with --scheduler-enabled=false and
            # sidecars get no --scheduler-host-address; pub/sub never needs one (dapr/dapr
            # v1.18.3 charts/dapr/values.yaml, pkg/injector/patcher/sidecar_container.go).
            "scheduler": {"enabled": False},
        },
        "dapr_sidecar_injector": {"sidecarDropALLCapabilities": True},
    }


def kube_prometheus_stack_values(
    config: MonitoringConfig,
    *,
    ha: bool,
    managed_control_plane: bool,
    node_selector: Mapping[str, str] | None = None,
    data_sources: Sequence[Values] = (),
) -> Values:
    values: Values = {
        "grafana": {
            # Chart 79+ has no default password; the admin secret is generated by Pulumi.
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET_NAME,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            },
        },
        "prometheus": {
            "prometheusSpec": {
                "replicas": 2 if ha else 1,
                "retention": config.retention,
                # The chart requests nothing; without this the scheduler would pack the
                # heaviest pod of the stack as if it were free.
                "resources": {
                    "requests": {"cpu": "200m", "memory": "1Gi"}
                    if ha
                    else {"cpu": "100m", "memory": "512Mi"}
                },
                # Without these the operator ignores monitors and rules lacking the release label.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "storageSpec": {
                    "volumeClaimTemplate": {
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": config.storage}},
                        }
                    }
                },
            }
        },
        "alertmanager": {"config": _alertmanager_config(config)},
    }
    if data_sources:
        # Provisioned beside the chart's Prometheus data source (its datasource ConfigMap).
        values["grafana"]["additionalDataSources"] = [dict(source) for source in data_sources]
    if config.alert_receivers:
        values["alertmanager"]["alertmanagerSpec"] = {"secrets": [ALERT_WEBHOOKS_SECRET_NAME]}
    if node_selector:
        # Prometheus and Grafana are the heavy pods; the operator and exporters stay light.
        values["prometheus"]["prometheusSpec"]["nodeSelector"] = dict(node_selector)
        values["grafana"]["nodeSelector"] = dict(node_selector)
    if managed_control_plane:
        # DOKS hides these components; scraping them only produces permanent TargetDown alerts.
        for key in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
            values[key] = {"enabled": False}
    return values


def _alertmanager_config(config: MonitoringConfig) -> Values:
    receivers: list[Values] = [{"name": "null"}]
    for name in config.alert_receivers:
        # url_file keeps the webhook URL (a credential) out of the Helm values and state.
        url_file = f"/etc/alertmanager/secrets/{ALERT_WEBHOOKS_SECRET_NAME}/{name}"
        receivers.append(
            {"name": name, "webhook_configs": [{"url_file": url_file, "send_resolved": True}]}
        )
    default = config.alert_receivers[0] if config.alert_receivers else "null"
    return {
        "route": {
            "receiver": default,
            "group_by": ["alertname", "namespace"],
            "routes": [{"matchers": ['alertname = "Watchdog"'], "receiver": "null"}]
            + [{"receiver": name, "continue": True} for name in config.alert_receivers[1:]],
        },
        "receivers": receivers,
    }


def envoy_gateway_values(*, ha: bool) -> Values:
    """The controller only; the proxies it runs are configured by the EnvoyProxy resource."""
    return {
        "deployment": {
            "replicas": 2 if ha else 1,
            "envoyGateway": {
                # The chart's defaults, stated so the capacity check reads them from here.
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"memory": "1024Mi"},
                }
            },
        },
        # One controller may go during a drain only when another is left.
        "podDisruptionBudget": {"minAvailable": 1 if ha else 0},
    }


def cert_manager_values(*, ha: bool) -> Values:
    return {
        "crds": {"enabled": True},
        "replicaCount": 2 if ha else 1,
        "prometheus": {"servicemonitor": {"enabled": True}},
        # Gateway API support (gateway-shim and the gatewayHTTPRoute solver) is off by default.
        "config": {
            "apiVersion": "controller.config.cert-manager.io/v1alpha1",
            "kind": "ControllerConfiguration",
            "gatewayAPI": {"enabled": True},
        },
    }


def metrics_server_values(*, ha: bool) -> Values:
    return {
        "replicas": 2 if ha else 1,
        "podDisruptionBudget": {"enabled": ha, "maxUnavailable": 1},
        # DOKS's and kind's kubelets serve self-signed certificates; DigitalOcean's own
        # metrics-server stack sets the same flag (digitalocean/marketplace-kubernetes,
        # stacks/metrics-server/values.yaml). The chart's defaultArgs already prefer InternalIP.
        "args": ["--kubelet-insecure-tls"],
    }
