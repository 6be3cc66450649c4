"""What runs in the cluster: the image, each process's resources, Redpanda, monitoring."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from app import contract
from infra.config_fields import (
    DURATION,
    SLUG,
    ConfigError,
    Reader,
    bounded_int,
    quantity,
    reject_unknown,
)
from infra.config_model import (
    ImageConfig,
    MonitoringConfig,
    RedpandaConfig,
    Sensitive,
    ServiceConfig,
)

# The imageTag value that makes `pulumi up` build and push this checkout itself.
IMAGE_BUILD = "build"
# A Docker tag: word characters, dots and dashes, at most 128, not starting with . or -.
# (https://docs.docker.com/reference/cli/docker/image/tag/#description)
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def parse_image(r: Reader, raw: Mapping[str, str], *, on_do: bool, environment: str) -> ImageConfig:
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


def parse_redpanda(r: Reader) -> RedpandaConfig:
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


def parse_services(r: Reader) -> Mapping[str, ServiceConfig]:
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


def parse_monitoring(r: Reader) -> MonitoringConfig:
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
