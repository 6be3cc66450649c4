"""The typed stack config: what one stack asks the platform to build, already validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Platform(Enum):
    """Where the Kubernetes cluster comes from."""

    DIGITALOCEAN = "digitalocean"
    KUBECONFIG = "kubeconfig"


@dataclass(frozen=True)
class Sensitive:
    """A secret config value; its repr never shows the value, so it cannot leak into a log."""

    value: str = field(repr=False)


@dataclass(frozen=True)
class FixedPool:
    """The DOKS default pool: changing it replaces the cluster, so it stays small and fixed."""

    size: str
    count: int


@dataclass(frozen=True)
class AutoscaledPool:
    """The workload pool: autoscaled between min and max nodes."""

    size: str
    min_nodes: int
    max_nodes: int


@dataclass(frozen=True)
class MaintenanceWindow:
    day: str
    start_time: str


@dataclass(frozen=True)
class ClusterConfig:
    """A DOKS cluster in one region."""

    region: str
    version_prefix: str
    default_pool: FixedPool
    worker_pool: AutoscaledPool
    maintenance: MaintenanceWindow
    # Distinct per stack: DigitalOcean refuses a VPC overlapping another in the account.
    vpc_ip_range: str


@dataclass(frozen=True)
class ManagedDatabaseConfig:
    """DigitalOcean managed PostgreSQL."""

    size: str
    node_count: int
    version: str


@dataclass(frozen=True)
class InClusterDatabaseConfig:
    """A single PostgreSQL pod for the local stack."""

    storage: str


@dataclass(frozen=True)
class RegistryConfig:
    """A DigitalOcean container registry (one per account, so a stack may reuse another's).

    name None: the owning stack generates a globally unique one. A stack that does not create
    the registry reads its name from the owning stack (`source_stack`), never from a string.
    """

    name: str | None
    tier: str
    create: bool
    source_stack: str | None = None


@dataclass(frozen=True)
class RedpandaConfig:
    brokers: int
    storage: str
    cpu_cores: str
    memory: str

    @property
    def replication_factor(self) -> int:
        # Kafka's usual ceiling: three copies survive one broker down during a rolling upgrade.
        return min(self.brokers, 3)


@dataclass(frozen=True)
class ServiceConfig:
    """Replicas and resources of one process; max_replicas > replicas turns on its HPA."""

    replicas: int
    max_replicas: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    # SQLAlchemy pool_size of each pod; app.db.make_engine allows as many again in overflow.
    db_pool: int = 1

    @property
    def autoscaled(self) -> bool:
        return self.max_replicas > self.replicas


@dataclass(frozen=True)
class ImageConfig:
    repository: str | None
    # The pinned tag to deploy (a git SHA or version CI built), or None: `pulumi up` builds
    # this checkout and pushes it under a tag derived from its content (imageTag: build).
    tag: str | None

    @property
    def build(self) -> bool:
        return self.tag is None


@dataclass(frozen=True)
class MonitoringConfig:
    retention: str
    storage: str
    alert_receivers: tuple[str, ...]
    alert_webhook_urls: Sensitive | None


@dataclass(frozen=True)
class TracingConfig:
    """Where traces go and how many: Dapr's sampling rate and the trace store's retention."""

    # Dapr's Configuration samplingRate: "0" turns tracing off, "1" records every request.
    sampling_rate: str = "0.1"
    # A Go duration in hours (Tempo's block_retention parses no days).
    retention: str = "72h"
    storage: str = "5Gi"


@dataclass(frozen=True)
class KagentConfig:
    """The optional AI operations assistant: which model provider, and its API key."""

    # A provider key of the kagent chart's `providers` (openAI, anthropic, gemini).
    provider: str
    api_key: Sensitive


@dataclass(frozen=True)
class StackConfig:
    """Everything one stack declares; components receive slices of it, never pulumi.Config."""

    stack: str
    environment: str
    platform: Platform
    ha: bool
    cluster: ClusterConfig | None
    kube_context: str | None
    database: ManagedDatabaseConfig | InClusterDatabaseConfig
    registry: RegistryConfig | None
    redpanda: RedpandaConfig
    services: Mapping[str, ServiceConfig]
    image: ImageConfig
    domain: str | None
    acme_email: str | None
    monitoring: MonitoringConfig
    # One Helm repository serving every pinned chart (an offline or corporate mirror).
    chart_repository: str | None = None
    # Local stack only: the Kubernetes provider writes manifests here instead of applying them,
    # and the Helm releases (which need an API server) are left out.
    render_yaml_to: str | None = None
    # Route /docs, /redoc and /openapi.json through the edge too (off: the API only).
    public_docs: bool = False
    tracing: TracingConfig = field(default_factory=TracingConfig)
    # None: no kagent release (the default).
    kagent: KagentConfig | None = None
