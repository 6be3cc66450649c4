"""Each DigitalOcean rule accepts what DigitalOcean accepts and names what it would refuse."""

from __future__ import annotations

import pytest
from policy_builders import (
    CLUSTER,
    DATABASE,
    DATABASE_DB,
    DATABASE_USER,
    REGISTRY,
    VPC,
    single,
)

from policy.model import UNKNOWN, Resource
from policy.rules import evaluate


def messages(resources: list[Resource], rule: str, stack: str = "dev") -> list[str]:
    return [v.message for v in evaluate(resources, stack) if v.policy == rule]


@pytest.mark.parametrize("ip_range", ["10.110.0.0/20", "172.16.0.0/16", "192.168.8.0/24"])
def test_a_private_vpc_range_of_an_offered_size_passes(ip_range: str) -> None:
    assert messages([Resource(VPC, "vpc", {"ipRange": ip_range})], "vpc-range") == []


@pytest.mark.parametrize(
    ("ip_range", "why"),
    [
        ("100.64.0.0/20", "RFC 1918"),
        ("10.0.0.0/8", "/8"),
        ("10.110.0.0/26", "/26"),
        ("10.244.16.0/20", "10.244.0.0/16"),
        ("10.245.0.0/16", "10.245.0.0/16"),
        ("10.110.0.1/20", "CIDR network address"),
        ("not-a-range", "CIDR"),
    ],
)
def test_a_vpc_range_digitalocean_or_doks_would_refuse_fails(ip_range: str, why: str) -> None:
    found = messages([Resource(VPC, "vpc", {"ipRange": ip_range})], "vpc-range")
    assert why in single(found), found


def test_a_vpc_without_a_range_fails_and_one_not_known_yet_is_not_judged() -> None:
    assert "vpcIpRange" in single(messages([Resource(VPC, "vpc", {})], "vpc-range"))
    assert messages([Resource(VPC, "vpc", {"ipRange": UNKNOWN})], "vpc-range") == []


@pytest.mark.parametrize("name", ["taskstream-r4nd0m", "acme-images", "a" * 63])
def test_a_registry_name_of_its_own_passes(name: str) -> None:
    registry = Resource(REGISTRY, "registry", {"name": name}, protect=True)
    assert messages([registry], "registry-name") == []


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("taskstream", "bare project name"),
        ("Taskstream-1", "lowercase"),
        ("task_stream", "lowercase"),
        ("a" * 64, "63"),
    ],
)
def test_a_bare_or_malformed_registry_name_fails(name: str, why: str) -> None:
    registry = Resource(REGISTRY, "registry", {"name": name}, protect=True)
    assert why in single(messages([registry], "registry-name"))


def test_a_generated_registry_name_not_known_yet_is_not_judged() -> None:
    registry = Resource(REGISTRY, "registry", {"name": UNKNOWN}, protect=True)
    assert messages([registry], "registry-name") == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_an_unprotected_registry_fails_in_every_stack(stack: str) -> None:
    registry = Resource(REGISTRY, "registry", {"name": "acme-images"})
    assert "protect=True" in single(messages([registry], "registry-protected", stack))


@pytest.mark.parametrize("value", [None, False])
def test_a_cluster_that_leaves_its_load_balancers_and_volumes_behind_fails(
    value: bool | None,
) -> None:
    inputs = {} if value is None else {"destroyAllAssociatedResources": value}
    found = messages([Resource(CLUSTER, "cluster", inputs)], "cluster-takes-its-cloud-resources")
    assert "destroyAllAssociatedResources" in single(found)


def test_a_cluster_that_takes_its_cloud_resources_passes() -> None:
    cluster = Resource(CLUSTER, "cluster", {"destroyAllAssociatedResources": True})
    assert messages([cluster], "cluster-takes-its-cloud-resources") == []


@pytest.mark.parametrize("resource_type", [DATABASE_DB, DATABASE_USER])
def test_the_database_and_user_inside_a_protected_cluster_must_be_protected_in_prod(
    resource_type: str,
) -> None:
    cluster = Resource(DATABASE, "db", {"engine": "pg"}, protect=True)
    inner = Resource(resource_type, "inner", {"name": "taskstream"}, protect=False)
    found = messages([cluster, inner], "prod-protected-state", stack="prod")
    assert "protect=True" in single(found)
    assert messages([cluster, inner], "prod-protected-state", stack="dev") == []
