"""DigitalOcean's rules, per stack: references are dependencies, ranges are distinct, the
registry is the stack's own, destroy keeps the data and takes the billed leftovers."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator

import pytest

import infra.render.mock_answers as mock_answers
from infra.config_model import StackConfig
from infra.digitalocean_limits import DOKS_RESERVED
from infra.render.offline import run_offline
from infra.render.recording import RecordedResource, Recording, reveal
from policy.model import Resource
from policy.rules import evaluate
from tests.infra import do_invariants
from tests.infra.stacks import STACKS, recording, stack_config

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
VPC = "digitalocean:index/vpc:Vpc"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
DO_RULES = (
    "vpc-range",
    "registry-name",
    "registry-protected",
    "cluster-takes-its-cloud-resources",
    "prod-protected-state",
)


def test_no_input_names_another_digitalocean_resource_without_depending_on_it(
    recorded: Recording,
) -> None:
    problems = do_invariants.undeclared_references(recorded)
    assert problems == [], "\n".join(problems)


def _fake(
    type_: str, name: str, inputs: dict[str, object], deps: dict[str, list[str]]
) -> RecordedResource:
    urn = f"urn:pulumi:dev::taskstream::{type_}::{name}"
    return RecordedResource(
        type_, name, urn, True, inputs, "", "", [], False, "", [], property_dependencies=deps
    )


def test_the_reference_check_catches_a_registry_name_typed_as_a_string() -> None:
    registry = _fake(REGISTRY, "registry", {"name": "acme-images"}, {})
    typed = _fake(do_invariants.DOCKER_CREDENTIALS, "pull", {"registryName": "acme-images"}, {})
    read = _fake(
        do_invariants.DOCKER_CREDENTIALS,
        "pull-ok",
        {"registryName": "acme-images"},
        {"registryName": [registry.urn]},
    )
    by_id = _fake(CLUSTER, "cluster", {"vpcUuid": "vpc-id"}, {"vpcUuid": []})
    vpc = _fake(VPC, "vpc", {"name": "v", "ipRange": "10.110.0.0/20"}, {})
    problems = do_invariants.undeclared_references(
        Recording(resources=[registry, typed, read, by_id, vpc])
    )
    assert len(problems) == 2, problems
    assert "'pull'" in problems[0], problems
    assert "registryName" in problems[0], problems
    assert "vpcUuid" in problems[1], problems
    assert do_invariants.credentials_without_a_source(Recording(resources=[typed])), (
        "credentials with a typed-in registry name passed"
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_registry_credentials_read_the_registry_name_off_the_registry_or_its_owning_stack(
    stack: str,
) -> None:
    rec = recording(stack)
    assert do_invariants.credentials_without_a_source(rec) == []
    # Pull credentials everywhere; push credentials too where `pulumi up` builds (dev).
    credentials = rec.of_type(do_invariants.DOCKER_CREDENTIALS)
    assert len(credentials) == (2 if stack == "dev" else 1)
    expected = REGISTRY if stack == "dev" else STACK_REFERENCE
    for creds in credentials:
        (source,) = creds.property_dependencies["registryName"]
        assert f"${expected}::" in source, f"{stack}: {creds.name} registryName from {source}"


def test_dev_creates_a_registry_with_a_generated_global_name_and_exports_it() -> None:
    rec = recording("dev")
    (registry,) = rec.of_type(REGISTRY)
    name = reveal(registry.inputs)["name"]
    assert name == f"taskstream-{mock_answers.RANDOM_STRING}", name
    assert registry.property_dependencies["name"], "the generated name is not read off the suffix"
    assert rec.outputs["registry_name"] == name, "dev does not export the name prod reads"


def test_prod_reuses_the_registry_dev_created_and_images_come_from_it() -> None:
    rec = recording("prod")
    assert not rec.of_type(REGISTRY), "prod creates a second registry"
    assert rec.outputs["registry_endpoint"] == (
        f"registry.digitalocean.com/taskstream-{mock_answers.RANDOM_STRING}"
    )


def _without_outputs(type_: str, name: str, inputs: dict[str, object]) -> dict[str, object]:
    if type_ == STACK_REFERENCE:
        return {"outputs": {}, "secretOutputNames": []}
    return ORIGINAL_COMPUTED(type_, name, inputs)


ORIGINAL_COMPUTED = mock_answers.computed


def test_prod_fails_naming_the_owning_stack_when_dev_has_not_created_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mock_answers, "computed", _without_outputs)
    with pytest.raises(ValueError, match="registry_name") as raised:
        run_offline(stack_config("prod"))
    message = str(raised.value)
    assert "Stack organization/taskstream/dev has no registry_name output" in message, message
    assert "pulumi up --stack dev" in message, message


def test_an_empty_kubernetes_version_fails_naming_the_prefix_and_where_to_change_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = mock_answers.invoke_result

    def retired(function: str, args: dict[str, object]) -> dict[str, object]:
        if function.endswith("getKubernetesVersions"):
            return {"latestVersion": "", "validVersions": []}
        return original(function, args)

    monkeypatch.setattr(mock_answers, "invoke_result", retired)
    with pytest.raises(ValueError, match="Kubernetes version") as raised:
        run_offline(stack_config("dev"))
    message = str(raised.value)
    for needed in (
        "'1.34.'",
        "taskstream:kubernetesVersionPrefix",
        "infra/versions.py",
        "doctl kubernetes options versions",
    ):
        assert needed in message, f"the error does not say {needed!r}:\n{message}"


def _do_stacks() -> Iterator[tuple[str, StackConfig]]:
    for stack in STACKS:
        config = stack_config(stack)
        if config.cluster is not None:
            yield stack, config


def test_the_committed_vpc_ranges_overlap_neither_each_other_nor_doks_subnets() -> None:
    ranges = {
        stack: ipaddress.ip_network(config.cluster.vpc_ip_range)
        for stack, config in _do_stacks()
        if config.cluster is not None
    }
    assert len(ranges) >= 2, f"expected dev and prod on DigitalOcean, got {sorted(ranges)}"
    for (a, net_a), (b, net_b) in itertools.combinations(ranges.items(), 2):
        assert not net_a.overlaps(net_b), f"{a} {net_a} overlaps {b} {net_b}"
    for stack, network in ranges.items():
        for reserved in DOKS_RESERVED:
            assert not network.overlaps(reserved), f"{stack} {network} overlaps DOKS {reserved}"
        (vpc,) = recording(stack).of_type(VPC)
        assert vpc.inputs["ipRange"] == str(network), f"{stack} VPC ignores vpcIpRange"


def test_in_prod_every_data_holding_resource_is_protected() -> None:
    rec = recording("prod")
    held = {r.type for r in rec.resources if r.type in do_invariants.DATA_HOLDING}
    assert len(held) == 3, f"prod lacks a database, its db or its user: {held}"
    assert do_invariants.unprotected_data(rec) == []


def test_the_registry_every_stack_pulls_from_is_protected_even_in_dev() -> None:
    assert do_invariants.unprotected_data(recording("dev")) == [
        f"{t} {n!r} is not protected"
        for t, n in (
            ("digitalocean:index/databaseCluster:DatabaseCluster", "database"),
            ("digitalocean:index/databaseDb:DatabaseDb", "database-db"),
            ("digitalocean:index/databaseUser:DatabaseUser", "database-user"),
        )
    ], "dev's registry is unprotected, or dev's disposable database is protected"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_doks_cluster_takes_its_load_balancers_and_volumes_with_it(stack: str) -> None:
    assert do_invariants.clusters_leaking_on_destroy(recording(stack)) == []


def test_the_policy_packs_digitalocean_rules_pass_on_every_stack(
    recorded: Recording, stack: str
) -> None:
    resources = [Resource(r.type, r.name, reveal(r.inputs), r.protect) for r in recorded.resources]
    found = [str(v) for v in evaluate(resources, stack) if v.policy in DO_RULES]
    assert found == [], "\n".join(found)


def test_a_fully_qualified_registry_stack_is_used_as_given() -> None:
    from infra.components import registry

    assert registry._qualified("acme/taskstream/dev") == "acme/taskstream/dev"
