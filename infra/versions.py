"""Every chart version, image tag and Kubernetes version prefix the platform pins, in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    """A Helm chart pinned to one version in one repository."""

    name: str
    version: str
    repository: str

    @property
    def oci(self) -> bool:
        """An OCI registry is no Helm repository: the chart is addressed by its full URL."""
        return self.repository.startswith("oci://")


# DOKS resolves this prefix to a concrete slug at preview time; "latest" would diff forever.
KUBERNETES_VERSION_PREFIX = "1.34."
# The minor the manifests are validated against; keep it equal to the prefix above.
KUBERNETES_MINOR = "1.34"

# Dapr's chart and runtime share one version; tools/engines/versions.env builds daprd at it.
DAPR_VERSION = "1.18.3"
DAPR = Chart(name="dapr", version=DAPR_VERSION, repository="https://dapr.github.io/helm-charts/")

# Chart 25.3.x is published from redpanda-data/redpanda-operator; it ships broker v25.3.14.
REDPANDA = Chart(name="redpanda", version="25.3.8", repository="https://charts.redpanda.com")
REDPANDA_IMAGE_REPOSITORY = "docker.redpanda.com/redpandadata/redpanda"
REDPANDA_IMAGE_TAG = "v25.3.14"

# 79+ has no default Grafana password, which is why the admin secret is generated.
KUBE_PROMETHEUS_STACK = Chart(
    name="kube-prometheus-stack",
    version="88.5.3",
    repository="https://prometheus-community.github.io/helm-charts",
)
# The edge: Envoy Gateway (docs/infra.md, "The edge"), published only as an OCI chart. Its
# crds subchart installs Envoy Gateway's CRDs and the Gateway API experimental channel v1.6.1
# (charts/gateway-helm/charts/crds in envoyproxy/gateway, tag v1.9.0).
ENVOY_GATEWAY = Chart(
    name="gateway-helm", version="v1.9.0", repository="oci://docker.io/envoyproxy"
)
CERT_MANAGER = Chart(
    name="cert-manager", version="v1.21.1", repository="https://charts.jetstack.io"
)
# The resource metrics API (metrics.k8s.io) HPAs read; neither DOKS nor kind ships one.
METRICS_SERVER = Chart(
    name="metrics-server",
    version="3.13.1",
    repository="https://kubernetes-sigs.github.io/metrics-server/",
)
# The trace path (docs/infra.md, "Traces"). The collector chart's appVersion 0.158.0 is the
# image tag it runs; Tempo moved from grafana/helm-charts to grafana-community (2026-01-30),
# chart 2.2.4 ships Tempo 2.10.8.
OPENTELEMETRY_COLLECTOR = Chart(
    name="opentelemetry-collector",
    version="0.170.0",
    repository="https://open-telemetry.github.io/opentelemetry-helm-charts",
)
TEMPO = Chart(
    name="tempo", version="2.2.4", repository="https://grafana-community.github.io/helm-charts"
)
# kagent (optional, off by default): its CRDs ship as a chart of their own, published with
# the main chart as OCI artifacts (kagent-dev/kagent Makefile helm-publish, tag v0.9.12).
KAGENT_VERSION = "0.9.12"
KAGENT = Chart(
    name="kagent", version=KAGENT_VERSION, repository="oci://ghcr.io/kagent-dev/kagent/helm"
)
KAGENT_CRDS = Chart(
    name="kagent-crds", version=KAGENT_VERSION, repository="oci://ghcr.io/kagent-dev/kagent/helm"
)
# Scales the workers on consumer lag (infra/components/autoscaling.py); chart = KEDA version.
KEDA = Chart(name="keda", version="2.20.2", repository="https://kedacore.github.io/charts")

# The in-cluster database of the local stack and the topic Job's rpk both run from pinned images.
POSTGRES_IMAGE = "docker.io/library/postgres:17.6-bookworm"
RPK_IMAGE = f"{REDPANDA_IMAGE_REPOSITORY}:{REDPANDA_IMAGE_TAG}"

# Managed PostgreSQL major version on DigitalOcean.
POSTGRES_MAJOR = "17"

CHARTS: tuple[Chart, ...] = (
    DAPR,
    REDPANDA,
    KUBE_PROMETHEUS_STACK,
    ENVOY_GATEWAY,
    CERT_MANAGER,
    METRICS_SERVER,
    OPENTELEMETRY_COLLECTOR,
    TEMPO,
    KAGENT,
    KAGENT_CRDS,
    KEDA,
)
