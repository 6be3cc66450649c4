"""Stack config parsing: the real stack files parse, and each bad value names its key."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, parse_stack_config
from infra.config_model import InClusterDatabaseConfig, Platform
from tests.infra.stacks import stack_config

VALID_DO = {
    "platform": "digitalocean",
    "environment": "dev",
    "region": "fra1",
    "defaultNodePool": json.dumps({"size": "s-2vcpu-4gb", "count": 1}),
    "workerNodePool": json.dumps({"size": "s-4vcpu-8gb", "minNodes": 1, "maxNodes": 3}),
    "dbSize": "db-s-1vcpu-1gb",
    "vpcIpRange": "10.110.0.0/20",
    "imageTag": "abc123",
}


def _parse(**changes: str | None) -> None:
    raw = {**VALID_DO, **changes}
    parse_stack_config("test", {k: v for k, v in raw.items() if v is not None})


def test_the_committed_stack_files_parse() -> None:
    assert stack_config("prod").redpanda.replication_factor == 3
    assert stack_config("dev").redpanda.brokers == 1
    local = stack_config("local")
    assert local.platform is Platform.KUBECONFIG
    assert isinstance(local.database, InClusterDatabaseConfig)


def test_a_minimal_digitalocean_config_parses_with_defaults() -> None:
    config = parse_stack_config("test", VALID_DO)
    assert config.cluster is not None
    assert config.cluster.version_prefix == "1.34."
    assert config.services["api"].replicas == 1
    assert config.public_docs is False, "the API docs must not be public unless a stack asks"


def test_the_registry_name_is_generated_unless_configured_and_read_when_reused() -> None:
    generated = parse_stack_config("test", VALID_DO).registry
    named = parse_stack_config("test", {**VALID_DO, "registryName": "acme-images"}).registry
    reused = parse_stack_config("test", {**VALID_DO, "registryCreate": "false"}).registry
    assert generated is not None, "a DigitalOcean stack has no registry"
    assert (generated.name, generated.create) == (None, True), generated
    assert named is not None, "a DigitalOcean stack has no registry"
    assert named.name == "acme-images", named
    assert reused is not None, "a DigitalOcean stack has no registry"
    assert (reused.name, reused.create, reused.source_stack) == (None, False, "dev"), reused


def test_a_stack_can_publish_the_api_docs_through_the_edge() -> None:
    assert parse_stack_config("test", {**VALID_DO, "publicDocs": "true"}).public_docs is True


# One case per validation: (what is wrong, the changes, the key the message must name).
CASES = [
    ("platform missing", {"platform": None}, "taskstream:platform"),
    ("platform unknown", {"platform": "aws"}, "taskstream:platform"),
    ("environment unknown", {"environment": "qa"}, "taskstream:environment"),
    ("ha not a boolean", {"ha": "yes"}, "taskstream:ha"),
    ("public docs not a boolean", {"publicDocs": "yes"}, "taskstream:publicDocs"),
    ("region missing", {"region": None}, "taskstream:region"),
    ("region not a slug", {"region": "Frankfurt 1"}, "taskstream:region"),
    (
        "version prefix malformed",
        {"kubernetesVersionPrefix": "latest"},
        "taskstream:kubernetesVersionPrefix",
    ),
    ("default pool not json", {"defaultNodePool": "{size"}, "taskstream:defaultNodePool"),
    ("default pool size missing", {"defaultNodePool": "{}"}, "taskstream:defaultNodePool.size"),
    (
        "default pool count too big",
        {"defaultNodePool": '{"size": "s-1", "count": 99}'},
        "taskstream:defaultNodePool.count",
    ),
    (
        "default pool unknown field",
        {"defaultNodePool": '{"size": "s-1", "cnt": 1}'},
        "taskstream:defaultNodePool.cnt",
    ),
    (
        "worker max below min",
        {"workerNodePool": '{"size": "s-1", "minNodes": 3, "maxNodes": 2}'},
        "taskstream:workerNodePool.maxNodes",
    ),
    (
        "worker min not a number",
        {"workerNodePool": '{"size": "s-1", "minNodes": "x", "maxNodes": 2}'},
        "taskstream:workerNodePool.minNodes",
    ),
    (
        "maintenance day unknown",
        {"maintenanceWindow": '{"day": "someday"}'},
        "taskstream:maintenanceWindow.day",
    ),
    (
        "maintenance time malformed",
        {"maintenanceWindow": '{"startTime": "25:00"}'},
        "taskstream:maintenanceWindow.startTime",
    ),
    ("db size missing", {"dbSize": None}, "taskstream:dbSize"),
    ("db node count out of range", {"dbNodeCount": "4"}, "taskstream:dbNodeCount"),
    ("db node count not a number", {"dbNodeCount": "two"}, "taskstream:dbNodeCount"),
    ("registry name the bare project", {"registryName": "taskstream"}, "taskstream:registryName"),
    ("registry name too long", {"registryName": "a" * 64}, "taskstream:registryName"),
    (
        "registry name beside registryCreate false",
        {"registryCreate": "false", "registryName": "acme-images"},
        "taskstream:registryName",
    ),
    (
        "registry stack malformed",
        {"registryCreate": "false", "registryStack": "a/b"},
        "taskstream:registryStack",
    ),
    ("vpc range missing", {"vpcIpRange": None}, "taskstream:vpcIpRange"),
    ("vpc range public", {"vpcIpRange": "8.8.0.0/20"}, "taskstream:vpcIpRange"),
    ("vpc range too large", {"vpcIpRange": "10.0.0.0/12"}, "taskstream:vpcIpRange"),
    ("vpc range on doks pods", {"vpcIpRange": "10.244.0.0/20"}, "taskstream:vpcIpRange"),
    ("registry tier unknown", {"registryTier": "gold"}, "taskstream:registryTier"),
    ("registry create not a boolean", {"registryCreate": "maybe"}, "taskstream:registryCreate"),
    ("two brokers", {"redpandaBrokers": "2"}, "taskstream:redpandaBrokers"),
    ("broker count out of range", {"redpandaBrokers": "0"}, "taskstream:redpandaBrokers"),
    ("broker storage not a quantity", {"redpandaStorage": "lots"}, "taskstream:redpandaStorage"),
    ("broker cpu not a quantity", {"redpandaCpuCores": "one"}, "taskstream:redpandaCpuCores"),
    ("broker memory not a quantity", {"redpandaMemory": "2 GB"}, "taskstream:redpandaMemory"),
    ("services not an object", {"services": "[]"}, "taskstream:services"),
    ("service unknown process", {"services": '{"web": {}}'}, "taskstream:services.web"),
    (
        "service unknown field",
        {"services": '{"api": {"replica": 2}}'},
        "taskstream:services.api.replica",
    ),
    (
        "service max below replicas",
        {"services": '{"api": {"replicas": 3, "maxReplicas": 2}}'},
        "taskstream:services.api.maxReplicas",
    ),
    (
        "service cpu malformed",
        {"services": '{"api": {"cpu": "fast"}}'},
        "taskstream:services.api.cpu",
    ),
    ("image tag missing", {"imageTag": None}, "taskstream:imageTag"),
    ("image tag latest", {"imageTag": "latest"}, "taskstream:imageTag"),
    ("domain malformed", {"domain": "not a domain"}, "taskstream:domain"),
    ("domain without acme email", {"domain": "api.example.com"}, "taskstream:acmeEmail"),
    (
        "acme email malformed",
        {"domain": "api.example.com", "acmeEmail": "ops"},
        "taskstream:acmeEmail",
    ),
    ("retention malformed", {"monitoringRetention": "a week"}, "taskstream:monitoringRetention"),
    ("monitoring storage malformed", {"monitoringStorage": "big"}, "taskstream:monitoringStorage"),
    (
        "alert receiver not a slug",
        {"alertReceivers": '["On Call"]'},
        "taskstream:alertReceivers[0]",
    ),
    (
        "alert receivers without urls",
        {"alertReceivers": '["oncall"]'},
        "taskstream:alertWebhookUrls",
    ),
    (
        "alert url missing for a receiver",
        {"alertReceivers": '["oncall"]', "alertWebhookUrls": "{}"},
        "taskstream:alertWebhookUrls",
    ),
    (
        "alert urls not json",
        {"alertReceivers": '["oncall"]', "alertWebhookUrls": "oops"},
        "taskstream:alertWebhookUrls",
    ),
    (
        "kube context missing locally",
        {"platform": "kubeconfig", "imageRepository": "x"},
        "taskstream:kubeContext",
    ),
    (
        "image repository missing locally",
        {"platform": "kubeconfig", "kubeContext": "kind"},
        "taskstream:imageRepository",
    ),
    (
        "local db storage malformed",
        {
            "platform": "kubeconfig",
            "kubeContext": "kind",
            "imageRepository": "x",
            "dbStorage": "1 GB",
        },
        "taskstream:dbStorage",
    ),
]


@pytest.mark.parametrize(("changes", "key"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_value_fails_with_a_message_naming_its_key(
    changes: dict[str, str | None], key: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(**changes)
    assert caught.value.key == key, f"the error names {caught.value.key}, not {key}"
    assert str(caught.value).startswith(f"{key}:"), f"the message does not lead with {key}"


def test_a_secret_value_never_appears_in_an_error_message() -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(alertReceivers='["oncall"]', alertWebhookUrls='{"oncall": "http://token-123"}')
    assert "token-123" not in str(caught.value), "the error message leaks the webhook URL"
