"""The DigitalOcean sections of a stack: the cluster, its VPC range and the registry."""

from __future__ import annotations

import re

from infra import versions
from infra.config_fields import (
    DAYS,
    HH_MM,
    SLUG,
    ConfigError,
    Reader,
    bounded_int,
    field,
    reject_unknown,
    slug,
)
from infra.config_model import (
    AutoscaledPool,
    ClusterConfig,
    FixedPool,
    MaintenanceWindow,
    RegistryConfig,
)
from infra.digitalocean_limits import registry_name_problem, vpc_range_problem

# A stack of this project (`dev`) or a fully qualified one (`acme/taskstream/dev`).
STACK_NAME = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+$")


def parse_cluster(r: Reader) -> ClusterConfig:
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


def parse_registry(r: Reader) -> RegistryConfig:
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
