"""Database connections, counted from the rendered stack: what the pods can hold must fit.

Each pod's engine keeps `pool_size` connections open and opens as many again in overflow
(app.db.make_engine), so a pod holds up to 2 x TASKSTREAM_DATABASE_POOL_SIZE. DigitalOcean's
pool runs PgBouncer in session mode: every client connection keeps a server connection, so
the pool must be at least what every pod at its peak (an HPA's maxReplicas, plus the
rollout's surge) can hold, and the pool plus direct connections must fit the plan's limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from app import contract
from app.settings import Settings
from infra.components import app_workloads
from infra.render.recording import Recording, reveal
from tests.infra.stacks import recording

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
POOL = "digitalocean:index/databaseConnectionPool:DatabaseConnectionPool"
# https://docs.digitalocean.com/products/databases/postgresql/how-to/manage-connection-pools/
# "Clusters provide 25 connections per 1 GB of RAM. 3 connections per cluster are reserved".
DO_CONNECTIONS_PER_GB = 25
DO_RESERVED = 3
DO_PLAN_GB = {"db-s-1vcpu-1gb": 1, "db-s-1vcpu-2gb": 2, "db-s-2vcpu-4gb": 4, "db-s-4vcpu-8gb": 8}
# The local stack's postgres runs with the server defaults: max_connections 100 and
# superuser_reserved_connections 3 (PostgreSQL 17 docs, runtime-config-connection).
LOCAL_MAX_CONNECTIONS = 100 - 3
# Deployment.spec.strategy.rollingUpdate.maxSurge defaults to 25%, rounded up (apps/v1).
DEFAULT_MAX_SURGE = "25%"


@dataclass(frozen=True)
class Holder:
    """One kind of pod that connects to the database, at its most numerous."""

    name: str
    pods: int
    per_pod: int
    direct: bool

    @property
    def connections(self) -> int:
        return self.pods * self.per_pod

    def __str__(self) -> str:
        return f"{self.name}: {self.pods} pods x {self.per_pod} = {self.connections}"


def _env(template: Mapping[str, Any]) -> dict[str, Any]:
    [container] = template["spec"]["containers"]
    return {variable["name"]: variable for variable in container.get("env", [])}


def _per_pod(env: Mapping[str, Any]) -> int:
    default = Settings.model_fields["database_pool_size"].default
    value = env.get(contract.ENV_DATABASE_POOL_SIZE, {}).get("value", default)
    return 2 * int(value)


def _direct(env: Mapping[str, Any]) -> bool:
    ref = env[contract.ENV_DATABASE_URL].get("valueFrom", {}).get("secretKeyRef", {})
    return bool(ref.get("name") == app_workloads.ADMIN_SECRET_NAME)


def _surge(replicas: int, strategy: Mapping[str, Any]) -> int:
    value = strategy.get("rollingUpdate", {}).get("maxSurge", DEFAULT_MAX_SURGE)
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def holders(rec: Recording) -> list[Holder]:
    ceilings = {
        reveal(h.inputs)["spec"]["scaleTargetRef"]["name"]: reveal(h.inputs)["spec"]["maxReplicas"]
        for h in rec.of_type(HPA)
    }
    found = []
    for deployment in rec.of_type(DEPLOYMENT):
        inputs = reveal(deployment.inputs)
        env = _env(inputs["spec"]["template"])
        if contract.ENV_DATABASE_URL not in env:
            continue
        name = inputs["metadata"]["name"]
        peak = int(ceilings.get(name, inputs["spec"].get("replicas", 1)))
        pods = peak + _surge(peak, inputs["spec"].get("strategy", {}))
        found.append(Holder(name, pods, _per_pod(env), _direct(env)))
    for job in rec.of_type(JOB):
        env = _env(reveal(job.inputs)["spec"]["template"])
        if contract.ENV_DATABASE_URL in env:
            found.append(Holder(f"job {job.name}", 1, _per_pod(env), _direct(env)))
    return found


def _report(found: list[Holder]) -> str:
    return "\n".join(f"  {holder}{' (direct)' if holder.direct else ''}" for holder in found)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_what_every_pod_can_hold_fits_the_pool_and_the_pool_fits_the_plan(stack: str) -> None:
    rec = recording(stack)
    found = holders(rec)
    assert {h.name for h in found} >= {p.name for p in contract.PROCESSES}, f"{stack}: {found}"
    pooled = sum(h.connections for h in found if not h.direct)
    direct = sum(h.connections for h in found if h.direct)
    [pool] = rec.of_type(POOL)
    pool_size = int(pool.inputs["size"])
    size = rec.of_type(DATABASE)[0].inputs["size"]
    limit = DO_CONNECTIONS_PER_GB * DO_PLAN_GB[size] - DO_RESERVED
    assert pooled <= pool_size, (
        f"{stack}: the pods can hold {pooled} connections through the pool of {pool_size}:\n"
        + _report(found)
    )
    assert pool_size + direct <= limit, (
        f"{stack}: pool {pool_size} + direct {direct} exceeds {size}'s {limit} connections:\n"
        + _report(found)
    )


def test_local_pods_fit_the_in_cluster_servers_default_connection_limit() -> None:
    found = holders(recording("local"))
    total = sum(h.connections for h in found)
    assert total <= LOCAL_MAX_CONNECTIONS, (
        f"local: the pods can hold {total} connections, postgres allows {LOCAL_MAX_CONNECTIONS}:\n"
        + _report(found)
    )


def test_a_pod_declaring_no_pool_size_counts_with_the_apps_default() -> None:
    assert _per_pod({}) == 2 * Settings.model_fields["database_pool_size"].default
