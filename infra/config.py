"""The only reader of pulumi.Config: raw stack values in, a validated StackConfig out."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from app import contract
from infra import versions
from infra.config_fields import (
    DAYS,
    DNS_NAME,
    DURATION,
    ENVIRONMENTS,
    HH_MM,
    NAMESPACE,
    SLUG,
    ConfigError,
    Reader,
    bounded_int,
    field,
    quantity,
    reject_unknown,
    slug,
)
from infra.config_model import (
    AutoscaledPool,
    ClusterConfig,
    FixedPool,
    ImageConfig,
    InClusterDatabaseConfig,
    KagentConfig,
    MaintenanceWindow,
    ManagedDatabaseConfig,
    MonitoringConfig,
    Platform,
    RedpandaConfig,
    RegistryConfig,
    Sensitive,
    ServiceConfig,
    StackConfig,
    TracingConfig,
)
from infra.digitalocean_limits import registry_name_problem, vpc_range_problem

# A Helm repository that serves every pinned chart (a mirror); the charts' own otherwise.
CHART_REPOSITORY = re.compile(r"^https?://[^\s]+$")
ABSOLUTE_PATH = re.compile(r"^/[^\0]*$")
# A stack of this project (`dev`) or a fully qualified one (`acme/taskstream/dev`).
STACK_NAME = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+$")
# The imageTag value that makes `pulumi up` build and push this checkout itself.
IMAGE_BUILD = "build"
# A Docker tag: word characters, dots and dashes, at most 128, not starting with . or -.
# (https://docs.docker.com/reference/cli/docker/image/tag/#description)
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")

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
    cluster = _parse_cluster(r) if on_do else None
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
    registry = _parse_registry(r) if on_do else None
    environment = r.choice("environment", ENVIRONMENTS)
    image = _parse_image(r, raw, on_do=on_do, environment=environment)
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
        redpanda=_parse_redpanda(r),
        services=_parse_services(r),
        image=image,
        domain=domain,
        acme_email=acme_email,
        monitoring=_parse_monitoring(r),
        chart_repository=chart_repository,
        render_yaml_to=render_yaml_to,
        public_docs=r.boolean("publicDocs", False),
        tracing=_parse_tracing(r),
        kagent=_parse_kagent(r),
    )


def _parse_image(
    r: Reader, raw: Mapping[str, str], *, on_do: bool, environment: str
) -> ImageConfig:
    """imageTag is a pinned tag to deploy, or `build`: build and push this checkout in `up`."""
    repository = r.text("imageRepository") if not on_do else raw.get("imageRepository") or None
    tag = r.text("imageTag")
    if tag == "latest":
        raise ConfigError("imageTag", "must pin a build (a git SHA or version), not 'latest'")
    if tag != IMAGE_BUILD:
        if not IMAGE_TAG.match(tag):
            raise ConfigError("imageTag", f"{tag!r} is not a Docker tag; use a git SHA or version")
        return ImageConfig(repository=repository, tag=tag)
    if environment == "prod":
        raise ConfigError(
            "imageTag",
            "prod deploys the image CI built and tested: set its git SHA or version, not 'build'",
        )
    if not on_do:
        raise ConfigError(
            "imageTag",
            "'build' pushes to the stack's DigitalOcean registry (platform digitalocean)",
        )
    if repository is not None:
        raise ConfigError(
            "imageRepository", "must be unset with imageTag 'build' (it pushes to the registry)"
        )
    return ImageConfig(repository=None, tag=None)


def _parse_cluster(r: Reader) -> ClusterConfig:
    default = r.json("defaultNodePool", dict, {})
    reject_unknown("defaultNodePool", default, ("size", "count"))
    worker = r.json("workerNodePool", dict, {})
    reject_unknown("workerNodePool", worker, ("size", "minNodes", "maxNodes"))
    window = r.json("maintenanceWindow", dict, {})
    reject_unknown("maintenanceWindow", window, ("day", "startTime"))
    pool = AutoscaledPool(
        size=field("workerNodePool", worker, "size", slug),
        min_nodes=field(
            "workerNodePool", worker, "minNodes", lambda k, v: bounded_int(k, v, 1, 50)
        ),
        max_nodes=field(
            "workerNodePool", worker, "maxNodes", lambda k, v: bounded_int(k, v, 1, 50)
        ),
    )
    if pool.max_nodes < pool.min_nodes:
        raise ConfigError("workerNodePool.maxNodes", "must be at least workerNodePool.minNodes")
    day = field("maintenanceWindow", window, "day", lambda _k, v: str(v), "sunday")
    if day not in DAYS:
        raise ConfigError("maintenanceWindow.day", f"{day!r} is not one of {', '.join(DAYS)}")
    start = field("maintenanceWindow", window, "startTime", lambda _k, v: str(v), "03:00")
    if not HH_MM.match(start):
        raise ConfigError("maintenanceWindow.startTime", f"{start!r} is not HH:MM in UTC")
    return ClusterConfig(
        region=r.text("region", pattern=SLUG, hint="use a DigitalOcean region slug such as fra1"),
        version_prefix=r.text(
            "kubernetesVersionPrefix",
            versions.KUBERNETES_VERSION_PREFIX,
            re.compile(r"^1\.[0-9]+\.$"),
            "use a minor prefix such as 1.34.",
        ),
        default_pool=FixedPool(
            size=field("defaultNodePool", default, "size", slug),
            count=field("defaultNodePool", default, "count", lambda k, v: bounded_int(k, v, 1, 10)),
        ),
        worker_pool=pool,
        maintenance=MaintenanceWindow(day=day, start_time=start),
        vpc_ip_range=_vpc_ip_range(r),
    )


def _vpc_ip_range(r: Reader) -> str:
    text = r.text("vpcIpRange")
    problem = vpc_range_problem(text)
    if problem is not None:
        raise ConfigError("vpcIpRange", f"{problem}; each stack needs its own range")
    return text


def _parse_registry(r: Reader) -> RegistryConfig:
    create = r.boolean("registryCreate", True)
    tier = r.choice("registryTier", ("starter", "basic", "professional"), "basic")
    if not create:
        if r.has("registryName"):
            raise ConfigError(
                "registryName",
                "is read from the stack that creates the registry when registryCreate is false; "
                "set taskstream:registryStack to that stack instead",
            )
        stack = r.text("registryStack", "dev", STACK_NAME, "use a stack name or org/project/stack")
        return RegistryConfig(name=None, tier=tier, create=False, source_stack=stack)
    name = r.optional("registryName", SLUG, "use a lowercase slug")
    problem = None if name is None else registry_name_problem(name)
    if problem is not None:
        raise ConfigError("registryName", problem)
    return RegistryConfig(name=name, tier=tier, create=True)


def _parse_redpanda(r: Reader) -> RedpandaConfig:
    brokers = r.integer("redpandaBrokers", 1, 1, 9)
    if brokers == 2:
        # Raft needs a majority: two brokers tolerate no more failures than one.
        raise ConfigError("redpandaBrokers", "2 gives no fault tolerance; use 1 (dev) or 3+")
    return RedpandaConfig(
        brokers=brokers,
        storage=quantity("redpandaStorage", r.text("redpandaStorage", "5Gi")),
        cpu_cores=quantity("redpandaCpuCores", r.text("redpandaCpuCores", "1")),
        memory=quantity("redpandaMemory", r.text("redpandaMemory", "2Gi")),
    )


_SERVICE_FIELDS = (
    "replicas",
    "maxReplicas",
    "cpu",
    "memory",
    "cpuLimit",
    "memoryLimit",
    "dbPool",
)
_SERVICE_DEFAULTS: Mapping[str, Any] = {
    "replicas": 1,
    "cpu": "100m",
    "memory": "128Mi",
    "cpuLimit": "500m",
    "memoryLimit": "256Mi",
    # Small on purpose: every pod's connections come out of the database plan's few dozen.
    "dbPool": 1,
}


def _parse_services(r: Reader) -> Mapping[str, ServiceConfig]:
    raw = r.json("services", dict, {})
    names = tuple(process.name for process in contract.PROCESSES)
    for name in raw:
        if name not in names:
            raise ConfigError(f"services.{name}", f"is not a process; use {', '.join(names)}")
    services: dict[str, ServiceConfig] = {}
    for name in names:
        entry = raw.get(name, {})
        key = f"services.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(key, "must be an object")
        reject_unknown(key, entry, _SERVICE_FIELDS)
        values = {**_SERVICE_DEFAULTS, **entry}
        replicas = bounded_int(f"{key}.replicas", values["replicas"], 1, 50)
        max_replicas = bounded_int(
            f"{key}.maxReplicas", values.get("maxReplicas", replicas), 1, 100
        )
        if max_replicas < replicas:
            raise ConfigError(f"{key}.maxReplicas", f"must be at least {key}.replicas")
        services[name] = ServiceConfig(
            replicas=replicas,
            max_replicas=max_replicas,
            cpu_request=quantity(f"{key}.cpu", values["cpu"]),
            memory_request=quantity(f"{key}.memory", values["memory"]),
            cpu_limit=quantity(f"{key}.cpuLimit", values["cpuLimit"]),
            memory_limit=quantity(f"{key}.memoryLimit", values["memoryLimit"]),
            db_pool=bounded_int(f"{key}.dbPool", values["dbPool"], 1, 20),
        )
    return services


def _parse_monitoring(r: Reader) -> MonitoringConfig:
    receivers = r.json("alertReceivers", list, [])
    for index, name in enumerate(receivers):
        if not isinstance(name, str) or not SLUG.match(name):
            raise ConfigError(f"alertReceivers[{index}]", f"{name!r} is not a lowercase slug")
    webhooks = Sensitive(r.text("alertWebhookUrls")) if receivers else None
    if webhooks is not None:
        _check_webhooks(webhooks, tuple(receivers))
    return MonitoringConfig(
        retention=r.text("monitoringRetention", "7d", DURATION, "use a duration such as 15d"),
        storage=quantity("monitoringStorage", r.text("monitoringStorage", "10Gi")),
        alert_receivers=tuple(receivers),
        alert_webhook_urls=webhooks,
    )


# A probability as Dapr's samplingRate takes it: 0, 1 or a decimal between them.
SAMPLING_RATE = re.compile(r"^(0(\.[0-9]+)?|1(\.0+)?)$")
HOURS = re.compile(r"^[0-9]+h$")


def _parse_tracing(r: Reader) -> TracingConfig:
    defaults = TracingConfig()
    return TracingConfig(
        sampling_rate=r.text(
            "tracingSamplingRate",
            defaults.sampling_rate,
            SAMPLING_RATE,
            "use a probability from 0 (off) to 1 (every request), such as 0.1",
        ),
        retention=r.text(
            "tracingRetention", defaults.retention, HOURS, "use whole hours such as 72h"
        ),
        storage=quantity("tracingStorage", r.text("tracingStorage", defaults.storage)),
    )


# The kagent chart's providers that take an API key (helm/kagent/values.yaml, v0.9.12).
KAGENT_PROVIDERS = ("openAI", "anthropic", "gemini")


def _parse_kagent(r: Reader) -> KagentConfig | None:
    if not r.boolean("kagent", False):
        for key in ("kagentProvider", "kagentApiKey"):
            if r.has(key):
                raise ConfigError(key, "has no effect unless taskstream:kagent is true")
        return None
    provider = r.choice("kagentProvider", KAGENT_PROVIDERS, "openAI")
    if not r.has("kagentApiKey"):
        # Never read the value into the message: it is a secret.
        raise ConfigError(
            "kagentApiKey",
            f"is required with kagent true; run `pulumi config set --secret kagentApiKey "
            f"<{provider} API key>`",
        )
    return KagentConfig(provider=provider, api_key=Sensitive(r.text("kagentApiKey")))


def _check_webhooks(webhooks: Sensitive, receivers: tuple[str, ...]) -> None:
    # The message never echoes the value: it is a secret.
    try:
        urls = json.loads(webhooks.value)
    except json.JSONDecodeError:
        raise ConfigError("alertWebhookUrls", "must be a JSON object of receiver -> URL") from None
    if not isinstance(urls, dict):
        raise ConfigError("alertWebhookUrls", "must be a JSON object of receiver -> URL")
    for name in receivers:
        url = urls.get(name)
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ConfigError("alertWebhookUrls", f"needs an https:// URL for receiver {name!r}")


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
