"""The pure builders: Dapr manifests, topic script, versions, and component arg validation."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import pytest

from app import contract
from infra import dapr_manifests, versions
from infra.components import app, cluster, database, edge, eventbus, local_database, registry
from infra.components.topics import create_topics_script, topic_specs
from infra.config_model import (
    AutoscaledPool,
    ClusterConfig,
    FixedPool,
    InClusterDatabaseConfig,
    MaintenanceWindow,
    ManagedDatabaseConfig,
    RedpandaConfig,
    RegistryConfig,
)
from tests.infra.stacks import ROOT


def test_dapr_version_equals_the_engine_build_version() -> None:
    env = dict(
        line.split("=", 1)
        for line in (ROOT / "tools/engines/versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert env["DAPR_VERSION"] == versions.DAPR_VERSION == versions.DAPR.version


def test_the_pubsub_component_is_safe_for_kafka_and_needs_no_namespace() -> None:
    manifest = dapr_manifests.pubsub_component(brokers="127.0.0.1:9092", scopes=["a"])
    fields = {item["name"]: item.get("value") for item in manifest["spec"]["metadata"]}
    assert "namespace" not in manifest["metadata"], "local daprd files must not need a namespace"
    assert fields["consumerGroup"] == "{appID}", "apps sharing a consumer group split the stream"
    assert int(fields["maxMessageBytes"]) >= 1024 * 1024, "a tiny maxMessageBytes rejects events"
    assert fields["authType"] == "password"
    assert manifest["metadata"]["name"] == contract.PUBSUB_NAME


def test_every_worker_subscription_has_a_dead_letter_topic_and_a_retry_policy_exists() -> None:
    manifests = dapr_manifests.all_manifests(brokers="b:9093", namespace="ns")
    subscriptions = [m for m in manifests if m["kind"] == "Subscription"]
    topics = {t.name for t in contract.TOPICS}
    for manifest in subscriptions:
        if manifest["spec"]["topic"] in topics:
            assert manifest["spec"]["deadLetterTopic"].endswith(contract.DEAD_LETTER_SUFFIX)
    resiliency = next(m for m in manifests if m["kind"] == "Resiliency")
    inbound = resiliency["spec"]["targets"]["components"][contract.PUBSUB_NAME]["inbound"]
    assert inbound["retry"] in resiliency["spec"]["policies"]["retries"], "dead-letters at once"
    assert sorted(resiliency["scopes"]) == dapr_manifests.app_ids()


def test_the_topic_script_creates_every_topic_and_dead_letter_topic_idempotently() -> None:
    script = create_topics_script(topic_specs(), replicas=3)
    for topic in contract.TOPICS:
        for name in (topic.name, topic.dead_letter):
            assert f"rpk topic describe {name} >/dev/null 2>&1 || rpk topic create {name}" in script
    assert f"--partitions {contract.TASK_EVENTS.partitions}" in script


def _cluster_config(min_nodes: int, max_nodes: int) -> ClusterConfig:
    return ClusterConfig(
        region="fra1",
        version_prefix="1.34.",
        default_pool=FixedPool("s-2vcpu-4gb", 1),
        worker_pool=AutoscaledPool("s-4vcpu-8gb", min_nodes, max_nodes),
        maintenance=MaintenanceWindow("sunday", "03:00"),
        vpc_ip_range="10.110.0.0/20",
    )


def _edge_args(*, acme_email: str | None, domain: str | None) -> edge.EdgeArgs:
    return edge.EdgeArgs(
        placement=MagicMock(),
        ha=False,
        load_balancer_name="taskstream-dev",
        acme_email=acme_email,
        gateway_namespace="taskstream",
        monitoring_ready=MagicMock(),
        domain=domain,
    )


# Each component validates its args before creating anything; the message says what to do.
VALIDATIONS = [
    (
        "cluster pool min above max",
        lambda: cluster._validate(cluster.ClusterArgs("c", _cluster_config(3, 2), False, False)),
        "workerNodePool.maxNodes",
    ),
    (
        "HA cluster on one node",
        lambda: cluster._validate(cluster.ClusterArgs("c", _cluster_config(1, 1), True, True)),
        "workerNodePool.maxNodes",
    ),
    (
        "protected database without standby",
        lambda: database._validate(
            database.DatabaseArgs(
                "d", "fra1", ManagedDatabaseConfig("db-s-1vcpu-1gb", 1, "17"), "v", "c", True, 10
            )
        ),
        "dbNodeCount",
    ),
    (
        "connection pool out of range",
        lambda: database._validate(
            database.DatabaseArgs(
                "d", "fra1", ManagedDatabaseConfig("db-s", 1, "17"), "v", "c", False, pool_size=0
            )
        ),
        "pool_size",
    ),
    (
        "processes holding more connections than the database plan allows",
        lambda: database._validate(
            database.DatabaseArgs(
                "d",
                "fra1",
                ManagedDatabaseConfig("db-s-1vcpu-1gb", 1, "17"),
                "v",
                "c",
                False,
                pool_size=21,
                direct_connections=2,
            )
        ),
        "allows 22",
    ),
    (
        "a database size whose connection limit cannot be told",
        lambda: database._validate(
            database.DatabaseArgs(
                "d", "fra1", ManagedDatabaseConfig("db-custom", 1, "17"), "v", "c", False, 5
            )
        ),
        "connection limit",
    ),
    (
        "production on the starter registry",
        lambda: registry._validate(
            registry.RegistryArgs(RegistryConfig("r", "starter", True), "fra1", production=True)
        ),
        "registryTier",
    ),
    (
        "broker namespace not lowercase",
        lambda: eventbus._validate(
            eventbus.EventBusArgs(
                RedpandaConfig(2, "1Gi", "1", "1Gi"), MagicMock(), "taskstream", namespace="X"
            )
        ),
        "lowercase",
    ),
    (
        "fractional broker cores",
        lambda: eventbus._validate(
            eventbus.EventBusArgs(
                RedpandaConfig(1, "1Gi", "1500m", "2Gi"), MagicMock(), "taskstream"
            )
        ),
        "redpandaCpuCores",
    ),
    (
        "production brokers with less than 2 GiB per core",
        lambda: eventbus._validate(
            eventbus.EventBusArgs(RedpandaConfig(3, "1Gi", "2", "4Gi"), MagicMock(), "taskstream")
        ),
        "redpandaMemory",
    ),
    (
        "local database storage malformed",
        lambda: local_database._validate(
            local_database.InClusterDatabaseArgs(
                InClusterDatabaseConfig("big"), MagicMock(), "taskstream"
            )
        ),
        "dbStorage",
    ),
    (
        "app without a process's resources",
        lambda: app._validate(MagicMock(services={}, domain=None, cluster_issuer=None)),
        "taskstream:services",
    ),
    (
        "app domain without issuer",
        lambda: app._validate(
            MagicMock(
                services={p.name: None for p in contract.PROCESSES},
                domain="api.example.com",
                cluster_issuer=None,
            )
        ),
        "acmeEmail",
    ),
    (
        "edge ACME email without an @",
        lambda: edge._validate(_edge_args(acme_email="platform.example.com", domain="a.example")),
        "taskstream:acmeEmail",
    ),
    (
        "edge public balancer without a domain",
        lambda: edge._validate(_edge_args(acme_email="ops@example.com", domain=None)),
        "taskstream:domain",
    ),
    (
        "edge public balancer without a certificate email",
        lambda: edge._validate(_edge_args(acme_email=None, domain="api.example.com")),
        "taskstream:acmeEmail",
    ),
]


@pytest.mark.parametrize(
    ("build", "hint"), [v[1:] for v in VALIDATIONS], ids=[v[0] for v in VALIDATIONS]
)
def test_a_component_rejects_bad_args_with_a_message_saying_what_to_do(build, hint) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r".") as caught:
        build()
    assert hint in str(caught.value), f"the message {caught.value} does not point at {hint}"


def test_dashboards_are_valid_json_with_unique_uids() -> None:
    import json

    uids = [
        json.loads(path.read_text())["uid"]
        for path in sorted((Path(versions.__file__).parent / "dashboards").glob("*.json"))
    ]
    assert len(uids) == 3, "the API, events and workers dashboards must all exist"
    assert len(set(uids)) == len(uids), "dashboard uids collide"
