"""The only reader of pulumi.Config: raw stack values in, a validated StackConfig out."""

from __future__ import annotations

import re
from collections.abc import Mapping

from infra import versions
from infra.config_cloud import parse_cluster, parse_registry
from infra.config_fields import (
    DNS_NAME,
    ENVIRONMENTS,
    NAMESPACE,
    SLUG,
    ConfigError,
    Reader,
    quantity,
)
from infra.config_model import (
    InClusterDatabaseConfig,
    ManagedDatabaseConfig,
    Platform,
    StackConfig,
)
from infra.config_operations import parse_kagent, parse_tracing
from infra.config_workloads import parse_image, parse_monitoring, parse_redpanda, parse_services

# A Helm repository that serves every pinned chart (a mirror); the charts' own otherwise.
CHART_REPOSITORY = re.compile(r"^https?://[^\s]+$")
ABSOLUTE_PATH = re.compile(r"^/[^\0]*$")

# Every key a stack file may set; the reader asks Pulumi for exactly these.
KEYS: tuple[str, ...] = (
    "platform",
    "environment",
    "ha",
    "region",
    "kubernetesVersionPrefix",
    "kubeContext",
    "defaultNodePool",
    "workerNodePool",
    "maintenanceWindow",
    "dbSize",
    "dbNodeCount",
    "dbStorage",
    "registryName",
    "registryTier",
    "registryCreate",
    "registryStack",
    "vpcIpRange",
    "redpandaBrokers",
    "redpandaStorage",
    "redpandaCpuCores",
    "redpandaMemory",
    "services",
    "imageRepository",
    "imageTag",
    "domain",
    "acmeEmail",
    "monitoringRetention",
    "monitoringStorage",
    "alertReceivers",
    "chartRepository",
    "renderYamlTo",
    "publicDocs",
    "tracingSamplingRate",
    "tracingRetention",
    "tracingStorage",
    "kagent",
    "kagentProvider",
)
SECRET_KEYS: tuple[str, ...] = ("alertWebhookUrls", "kagentApiKey")


def parse_stack_config(stack: str, raw: Mapping[str, str]) -> StackConfig:
    """Validate raw config strings (objects as JSON) into a StackConfig, or raise ConfigError."""
    r = Reader(raw)
    platform = Platform(r.choice("platform", tuple(p.value for p in Platform)))
    on_do = platform is Platform.DIGITALOCEAN
    cluster = parse_cluster(r) if on_do else None
    kube_context = None if on_do else r.text("kubeContext")
    database: ManagedDatabaseConfig | InClusterDatabaseConfig
    if on_do:
        database = ManagedDatabaseConfig(
            size=r.text("dbSize", pattern=SLUG, hint="use a slug such as db-s-1vcpu-1gb"),
            node_count=r.integer("dbNodeCount", 1, 1, 3),
            version=versions.POSTGRES_MAJOR,
        )
    else:
        database = InClusterDatabaseConfig(
            storage=quantity("dbStorage", r.text("dbStorage", "1Gi"))
        )
    registry = parse_registry(r) if on_do else None
    environment = r.choice("environment", ENVIRONMENTS)
    image = parse_image(r, raw, on_do=on_do, environment=environment)
    domain = r.optional("domain", DNS_NAME, "use a DNS name such as api.example.com")
    acme_email = r.text("acmeEmail") if domain else None
    if acme_email is not None and "@" not in acme_email:
        raise ConfigError("acmeEmail", f"{acme_email!r} is not an email address")
    chart_repository = r.optional(
        "chartRepository", CHART_REPOSITORY, "use an http(s):// URL of a Helm repository"
    )
    render_yaml_to = (
        None if on_do else r.optional("renderYamlTo", ABSOLUTE_PATH, "use an absolute path")
    )
    if on_do and r.has("renderYamlTo"):
        raise ConfigError(
            "renderYamlTo", "is only for platform kubeconfig (a render needs no cluster)"
        )
    return StackConfig(
        stack=stack,
        environment=environment,
        platform=platform,
        ha=r.boolean("ha", False),
        cluster=cluster,
        kube_context=kube_context,
        database=database,
        registry=registry,
        redpanda=parse_redpanda(r),
        services=parse_services(r),
        image=image,
        domain=domain,
        acme_email=acme_email,
        monitoring=parse_monitoring(r),
        chart_repository=chart_repository,
        render_yaml_to=render_yaml_to,
        public_docs=r.boolean("publicDocs", False),
        tracing=parse_tracing(r),
        kagent=parse_kagent(r),
    )


def load_stack_config() -> StackConfig:
    """Read this stack's config through pulumi.Config; a bad value stops with a clean message."""
    import pulumi

    config = pulumi.Config(NAMESPACE)
    raw: dict[str, str] = {}
    for key in KEYS + SECRET_KEYS:
        # Plain `get` returns secret values decrypted in memory only; they are wrapped in
        # Sensitive here and reach resources as pulumi secrets, never as plain inputs.
        value = config.get(key)
        if value is not None:
            raw[key] = value
    try:
        return parse_stack_config(pulumi.get_stack(), raw)
    except ConfigError as error:
        raise pulumi.RunError(str(error)) from None
