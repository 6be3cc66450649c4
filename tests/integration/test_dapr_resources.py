"""The local daprd resources are the cluster's Dapr resources, pointed at a local broker."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from infra import dapr_manifests
from infra.render.offline import run_offline
from infra.render.recording import Recording
from infra.render.stack_files import load_stack
from tools.dev.dapr_resources import (
    CONFIGURATION_KIND,
    read_resources,
    write_resources,
)

ROOT = Path(__file__).resolve().parents[2]
LOCAL_BROKERS = "127.0.0.1:19092"
DAPR_TYPE_PREFIX = "kubernetes:dapr.io/"

Manifest = dict[str, Any]


def _key(manifest: Manifest) -> tuple[str, str]:
    return manifest["kind"], manifest["metadata"]["name"]


def _by_key(manifests: list[Manifest]) -> dict[tuple[str, str], Manifest]:
    keyed = {_key(m): m for m in manifests}
    assert len(keyed) == len(manifests), f"two manifests share a kind and name: {sorted(keyed)}"
    return keyed


def _brokers_of(component: Manifest) -> str:
    fields = {item["name"]: item.get("value") for item in component["spec"]["metadata"]}
    return str(fields["brokers"])


def _localised(manifest: Manifest, brokers: str) -> Manifest:
    """A cluster manifest as the local set would hold it: no namespace, the local broker,
    and the local tracing (a stack's exporter and sampling rate are the stack's own and are
    checked in tests/infra/test_infra_tracing.py; a local daprd has no collector)."""
    local = copy.deepcopy(manifest)
    local["metadata"].pop("namespace", None)
    if local["kind"] == "Component":
        for item in local["spec"]["metadata"]:
            if item["name"] == "brokers":
                item["value"] = brokers
    if local["kind"] == CONFIGURATION_KIND:
        local["spec"]["tracing"] = dapr_manifests.configuration()["spec"]["tracing"]
    return local


@pytest.fixture(scope="module")
def dev_recording() -> Recording:
    return run_offline(load_stack("dev", ROOT))


def test_the_written_files_hold_exactly_the_manifests_of_the_shared_source(
    tmp_path: Path,
) -> None:
    written = write_resources(tmp_path, brokers=LOCAL_BROKERS)

    expected = _by_key(dapr_manifests.all_manifests(brokers=LOCAL_BROKERS))
    actual = _by_key(read_resources(written))

    assert sorted(actual) == sorted(expected), "the files hold other resources than the source"
    for key, manifest in expected.items():
        assert actual[key] == manifest, f"{key} differs from infra.dapr_manifests"


def test_the_configuration_is_a_config_file_and_everything_else_a_resource(
    tmp_path: Path,
) -> None:
    written = write_resources(tmp_path, brokers=LOCAL_BROKERS)

    config = read_resources(written)[0]
    kinds_in_dir = {m["kind"] for m in read_resources(written)[1:]}

    assert config["kind"] == CONFIGURATION_KIND, "daprd --config must point at a Configuration"
    assert CONFIGURATION_KIND not in kinds_in_dir, "a Configuration was left in --resources-path"
    assert {"Component", "Resiliency", "Subscription"} <= kinds_in_dir, (
        f"the resources dir lacks a kind daprd needs: {sorted(kinds_in_dir)}"
    )


def test_local_manifests_carry_no_namespace_and_point_at_the_given_broker(
    tmp_path: Path,
) -> None:
    manifests = read_resources(write_resources(tmp_path, brokers=LOCAL_BROKERS))

    namespaced = [_key(m) for m in manifests if "namespace" in m["metadata"]]
    [component] = [m for m in manifests if m["kind"] == "Component"]

    assert not namespaced, f"local resources must not carry a namespace: {namespaced}"
    assert _brokers_of(component) == LOCAL_BROKERS, "the component points at another broker"


def test_writing_again_replaces_the_files_of_an_earlier_broker(tmp_path: Path) -> None:
    write_resources(tmp_path, brokers="127.0.0.1:1")
    written = write_resources(tmp_path, brokers=LOCAL_BROKERS)

    [component] = [m for m in read_resources(written) if m["kind"] == "Component"]

    assert _brokers_of(component) == LOCAL_BROKERS, "a stale component file survived a rewrite"


def test_the_cluster_program_declares_the_same_dapr_resources_as_the_local_files(
    dev_recording: Recording, tmp_path: Path
) -> None:
    recorded = [r.inputs for r in dev_recording.resources if r.type.startswith(DAPR_TYPE_PREFIX)]
    [cluster_component] = [m for m in recorded if m["kind"] == "Component"]
    cluster_brokers = _brokers_of(cluster_component)

    cluster = _by_key([_localised(m, LOCAL_BROKERS) for m in recorded])
    local = _by_key(read_resources(write_resources(tmp_path, brokers=LOCAL_BROKERS)))

    assert sorted(cluster) == sorted(local), (
        "the cluster's Dapr custom resources and the local files name different resources"
    )
    for key, manifest in local.items():
        assert cluster[key] == manifest, f"{key}: the cluster CR drifted from the local file"
    assert cluster_brokers != LOCAL_BROKERS, "the recording should point at the cluster broker"
