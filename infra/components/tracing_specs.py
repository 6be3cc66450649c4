"""Pure specs of the trace path: the collector's and Tempo's chart values, the tracing
namespace's NetworkPolicies, Grafana's Tempo data source and the OTLP settings of our pods.

The path (docs/infra.md, "Traces"): every app container and its daprd send OTLP over
HTTP/protobuf to the OpenTelemetry Collector; the collector batches and forwards to Tempo
(single binary, blocks on a PVC); Grafana queries Tempo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.components.netpol import (
    default_deny,
    dns_egress,
    namespace_peer,
    pods_peer,
    ports,
)
from infra.config_model import TracingConfig

Manifest = dict[str, Any]

NAMESPACE = "tracing"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"

# The collector: release and fullname "otel-collector"; the chart labels its pods with its
# own name and the release (open-telemetry/opentelemetry-helm-charts charts/
# opentelemetry-collector/templates/_helpers.tpl, selectorLabels, chart 0.170.0).
COLLECTOR_RELEASE = "otel-collector"
COLLECTOR_POD_LABELS = {NAME_LABEL: "opentelemetry-collector", INSTANCE_LABEL: COLLECTOR_RELEASE}
# OTLP over HTTP/protobuf only: Dapr (`protocol: http`) and the Python SDK both speak it, and
# one port is one NetworkPolicy rule. The collector's own default port for it.
OTLP_HTTP_PORT = 4318
COLLECTOR_HEALTH_PORT = 13133
COLLECTOR_HOST = f"{COLLECTOR_RELEASE}.{NAMESPACE}.svc.cluster.local"
# The image the chart requires us to name (it has no default since 0.89): the Kubernetes
# distribution, which carries the OTLP receiver and exporters, batch and memory_limiter.
COLLECTOR_IMAGE = "otel/opentelemetry-collector-k8s"

# Tempo: release and fullname "tempo"; pods labelled by tempo.selectorLabels
# (grafana-community/helm-charts charts/tempo/templates/_helpers.tpl, chart 2.2.4).
TEMPO_RELEASE = "tempo"
TEMPO_POD_LABELS = {NAME_LABEL: "tempo", INSTANCE_LABEL: TEMPO_RELEASE}
TEMPO_HTTP_PORT = 3200  # queries (Grafana) and /ready, /metrics
TEMPO_HOST = f"{TEMPO_RELEASE}.{NAMESPACE}.svc.cluster.local"
TEMPO_URL = f"http://{TEMPO_HOST}:{TEMPO_HTTP_PORT}"
TEMPO_DATASOURCE_UID = "tempo"

# The variables an OpenTelemetry SDK reads (opentelemetry.io/docs/specs/otel/protocol/exporter)
# and the app's own switch for its tracing (app settings, TASKSTREAM_OTLP_ENDPOINT).
ENV_OTEL_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
ENV_TASKSTREAM_OTLP_ENDPOINT = "TASKSTREAM_OTLP_ENDPOINT"
# The app's exporter speaks OTLP over HTTP/protobuf only (app/tracing.py), so no protocol
# variable is set: nothing in the image would read it.


def collector_endpoint() -> str:
    """The collector's OTLP/HTTP base URL; SDKs append /v1/traces."""
    return f"http://{COLLECTOR_HOST}:{OTLP_HTTP_PORT}"


def otlp_environment() -> list[Manifest]:
    """Where every taskstream container sends its spans: the one place these are set."""
    endpoint = collector_endpoint()
    return [
        {"name": ENV_OTEL_ENDPOINT, "value": endpoint},
        {"name": ENV_TASKSTREAM_OTLP_ENDPOINT, "value": endpoint},
    ]


def dapr_tracing(sampling_rate: str) -> Manifest:
    """The Configuration's `tracing`: daprd exports over OTLP/HTTP to the collector.

    Fields per docs.dapr.io/operations/observability/tracing/setup-tracing (Dapr 1.18):
    otel.endpointAddress is host:port without a scheme, isSecure false for plain HTTP.
    """
    return {
        "samplingRate": sampling_rate,
        "otel": {
            "endpointAddress": f"{COLLECTOR_HOST}:{OTLP_HTTP_PORT}",
            "isSecure": False,
            "protocol": "http",
        },
    }


def collector_config() -> Manifest:
    """The collector's whole configuration: OTLP/HTTP in, traces to Tempo, nothing else.

    Passed as the chart's `alternateConfig`, which replaces its default `config` instead of
    merging into it: the defaults open Jaeger, Zipkin and Prometheus receivers and debug
    pipelines we do not want, and Helm can drop a default key only by a null, which the
    Pulumi engine would read as an unknown value.
    """
    # Component names after the collector's lower_snake_case renames (v0.144): otlp_http.
    return {
        "extensions": {"health_check": {"endpoint": f"${{env:MY_POD_IP}}:{COLLECTOR_HEALTH_PORT}"}},
        "receivers": {
            "otlp": {"protocols": {"http": {"endpoint": f"${{env:MY_POD_IP}}:{OTLP_HTTP_PORT}"}}}
        },
        "processors": {
            # Refuse data before the container's memory limit is reached (GOMEMLIMIT is set
            # from the limit by the chart's useGOMEMLIMIT).
            "memory_limiter": {
                "check_interval": "5s",
                "limit_percentage": 80,
                "spike_limit_percentage": 25,
            },
            "batch": {},
        },
        "exporters": {
            "otlp_http/tempo": {"endpoint": f"http://{TEMPO_HOST}:{OTLP_HTTP_PORT}"},
        },
        "service": {
            "extensions": ["health_check"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "batch"],
                    "exporters": ["otlp_http/tempo"],
                }
            },
        },
    }


def collector_values(*, ha: bool, node_selector: Mapping[str, str]) -> Manifest:
    """opentelemetry-collector chart values: a Deployment listening on OTLP/HTTP only."""
    unused_ports = ("otlp", "jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin")
    values: Manifest = {
        "mode": "deployment",
        "fullnameOverride": COLLECTOR_RELEASE,
        "image": {"repository": COLLECTOR_IMAGE},
        "replicaCount": 2 if ha else 1,
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        "ports": {name: {"enabled": False} for name in unused_ports},
        "alternateConfig": collector_config(),
    }
    if node_selector:
        values["nodeSelector"] = dict(node_selector)
    return values


def tempo_values(config: TracingConfig, *, ha: bool, node_selector: Mapping[str, str]) -> Manifest:
    """tempo (single binary) chart values: blocks on a PVC for `config.retention`."""
    values: Manifest = {
        "tempo": {
            "retention": config.retention,
            # No usage reports to Grafana Labs; the namespace's egress would drop them anyway.
            "reportingEnabled": False,
            # The chart's 1 GiB ballast makes the Go GC wait for a heap that size, past the
            # memory limit below; Go's own GOGC pacing is enough at this volume.
            "memBallastSizeMbs": 0,
            "resources": {
                "requests": {"cpu": "100m", "memory": "512Mi" if ha else "256Mi"},
                "limits": {"memory": "2Gi" if ha else "1Gi"},
            },
        },
        "persistence": {"enabled": True, "size": config.storage},
    }
    if node_selector:
        values["nodeSelector"] = dict(node_selector)
    return values


def grafana_datasource() -> Manifest:
    """Tempo as a Grafana data source (kube-prometheus-stack grafana.additionalDataSources)."""
    return {
        "name": "Tempo",
        "type": "tempo",
        "uid": TEMPO_DATASOURCE_UID,
        "access": "proxy",
        "url": TEMPO_URL,
        "editable": False,
    }


@dataclass(frozen=True)
class TracingPeers:
    """Who talks to the tracing namespace (infra/network_flows.py)."""

    # Every pod of the app namespace may send spans; its egress policies say which do.
    client_namespace: str
    grafana_namespace: str
    grafana_pod_labels: Mapping[str, str]


def network_policies(peers: TracingPeers) -> dict[str, Manifest]:
    """Policy name -> spec, for the tracing namespace: spans in, queries in, nothing else."""
    collector = {"matchLabels": dict(COLLECTOR_POD_LABELS)}
    tempo = {"matchLabels": dict(TEMPO_POD_LABELS)}
    return {
        "default-deny": default_deny(),
        # The collector resolves Tempo's Service name; Tempo dials no one.
        "allow-dns": dns_egress(collector),
        "allow-collector-ingress": {
            "podSelector": collector,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [namespace_peer(peers.client_namespace)],
                    "ports": ports(OTLP_HTTP_PORT),
                }
            ],
        },
        "allow-collector-egress": {
            "podSelector": collector,
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": tempo}], "ports": ports(OTLP_HTTP_PORT)}],
        },
        "allow-tempo-ingress": {
            "podSelector": tempo,
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": collector}], "ports": ports(OTLP_HTTP_PORT)},
                {
                    "from": [pods_peer(peers.grafana_namespace, peers.grafana_pod_labels)],
                    "ports": ports(TEMPO_HTTP_PORT),
                },
            ],
        },
    }
