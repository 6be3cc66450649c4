"""Where each stack's image comes from: dev builds and pushes this checkout, prod deploys CI's.

The stack config `taskstream:imageTag` decides: `build` makes `pulumi up` build the repository's
Dockerfile and push it under a content tag before any workload rolls out; any other value is
a pinned tag (a git SHA CI built and tested, or an earlier tag: a rollback) deployed as is.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from infra.config import ConfigError, parse_stack_config
from infra.config_model import ImageConfig
from infra.image_context import context_tag
from infra.render.mock_answers import RANDOM_STRING, SECRET_MARKER
from infra.render.offline import run_offline
from infra.render.recording import RecordedResource, Recording, is_secret, reveal
from tests.infra.expected_resources import DOCKER_CREDENTIALS
from tests.infra.stacks import ROOT, recording, stack_config
from tests.support.workloads import IMAGE_WORKLOADS

IMAGE = "docker-build:index:Image"
# Both stacks use the registry dev creates under its generated name (the mock's suffix).
REPOSITORY = f"registry.digitalocean.com/taskstream-{RANDOM_STRING}/taskstream"
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")


def _containers(resource: RecordedResource) -> list[dict[str, object]]:
    spec = resource.inputs["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def app_workloads(rec: Recording) -> list[RecordedResource]:
    """Every Deployment and Job that runs the app image."""
    return [
        r
        for type_ in WORKLOAD_TYPES
        for r in rec.of_type(type_)
        if any(str(c["image"]).startswith(REPOSITORY) for c in _containers(r))
    ]


def _app_images(rec: Recording) -> set[str]:
    return {
        str(c["image"])
        for r in app_workloads(rec)
        for c in _containers(r)
        if str(c["image"]).startswith(REPOSITORY)
    }


def _pinned_dev(tag: str) -> Recording:
    """The dev stack with imageTag set to a pinned tag, as a rollback sets it."""
    config = stack_config("dev")
    return run_offline(dataclasses.replace(config, image=ImageConfig(repository=None, tag=tag)))


# ------------------------------------------------------------------ dev: build and push


def test_dev_builds_this_checkout_under_its_content_tag() -> None:
    (image,) = recording("dev").of_type(IMAGE)
    expected_tag = context_tag(ROOT)
    assert image.inputs["tags"] == [f"{REPOSITORY}:{expected_tag}"]
    assert image.inputs["push"] is True, "the built image is not pushed"
    assert image.inputs["platforms"] == ["linux/amd64"], "DOKS nodes are amd64"
    assert recording("dev").outputs["imageTag"] == expected_tag, "imageTag is not the tag pushed"


def test_dev_previews_without_building_so_no_docker_daemon_is_needed() -> None:
    (image,) = recording("dev").of_type(IMAGE)
    assert image.inputs["buildOnPreview"] is False


def test_the_build_reads_and_writes_a_registry_cache_of_every_layer() -> None:
    (image,) = recording("dev").of_type(IMAGE)
    cache = f"{REPOSITORY}:buildcache"
    assert [c["registry"]["ref"] for c in image.inputs["cacheFrom"]] == [cache]
    (cache_to,) = image.inputs["cacheTo"]
    assert cache_to["registry"]["ref"] == cache
    assert cache_to["registry"]["mode"] == "max", "only the final stage's layers are cached"
    assert cache_to["registry"]["imageManifest"] is True


def test_the_build_context_is_the_repository_by_a_machine_independent_path() -> None:
    (image,) = recording("dev").of_type(IMAGE)
    location = image.inputs["context"]["location"]
    assert not Path(location).is_absolute(), f"{location} differs between machines"
    assert (Path.cwd() / location).resolve() == ROOT
    assert (Path.cwd() / image.inputs["dockerfile"]["location"]).resolve() == ROOT / "Dockerfile"


def test_dev_pushes_with_write_credentials_and_the_cluster_pulls_with_read_only_ones() -> None:
    rec = recording("dev")
    credentials = {r.name: r for r in rec.of_type(DOCKER_CREDENTIALS)}
    assert credentials["registry-push"].inputs["write"] is True
    assert credentials["registry-pull"].inputs["write"] is False
    (image,) = rec.of_type(IMAGE)
    assert is_secret(image.inputs["registries"]), "the registry login is a plain input"
    (login,) = reveal(image.inputs["registries"])
    assert login["address"] == "registry.digitalocean.com"
    # The mock engine's credentials carry the resource name: the push ones, not the pull ones.
    assert login["password"] == f"{SECRET_MARKER}-registry-push"


def test_the_push_credentials_wait_for_the_registry_dev_creates() -> None:
    rec = recording("dev")
    push = rec.named("registry-push")
    registry = rec.of_type("digitalocean:index/containerRegistry:ContainerRegistry")[0]
    assert registry.urn in push.dependencies


def test_every_workload_that_runs_the_image_waits_for_its_build_and_runs_its_digest() -> None:
    rec = recording("dev")
    (image,) = rec.of_type(IMAGE)
    workloads = app_workloads(rec)
    names = sorted(r.name for r in workloads)
    assert names == list(IMAGE_WORKLOADS), names
    late = [r.name for r in workloads if image.urn not in r.dependencies]
    assert not late, f"not ordered after the image build: {late}"
    # The mock engine answers a push with ref = first tag + "@" + digest, as the provider does.
    (ref,) = _app_images(rec)
    assert ref.startswith(f"{REPOSITORY}:{context_tag(ROOT)}@sha256:"), ref


def test_a_pushed_image_is_kept_in_the_registry_when_the_stack_stops_building_it() -> None:
    (image,) = recording("dev").of_type(IMAGE)
    assert image.retain_on_delete, "deleting the resource would delete a rollback target"


# ------------------------------------------------------------------ prod: CI's pinned image


def test_prod_deploys_the_pinned_image_ci_built_and_builds_nothing() -> None:
    rec = recording("prod")
    assert not rec.of_type(IMAGE), "prod builds an image"
    assert [r.inputs["write"] for r in rec.of_type(DOCKER_CREDENTIALS)] == [False], (
        "prod holds registry write credentials it never uses"
    )
    assert _app_images(rec) == {f"{REPOSITORY}:0.1.0"}
    assert rec.outputs["imageTag"] == "0.1.0"


def test_the_local_stack_exports_the_tag_it_deploys() -> None:
    assert recording("local").outputs["imageTag"] == stack_config("local").image.tag


# ------------------------------------------------------------------ rollback


def test_setting_a_previous_tag_on_dev_deploys_it_without_building() -> None:
    previous = "ctx-0123456789abcdef0123"
    rec = _pinned_dev(previous)
    assert not rec.of_type(IMAGE), "a pinned tag still builds"
    assert [r.inputs["write"] for r in rec.of_type(DOCKER_CREDENTIALS)] == [False]
    assert _app_images(rec) == {f"{REPOSITORY}:{previous}"}
    assert rec.outputs["imageTag"] == previous


def test_a_prod_rollback_changes_only_the_workloads_that_run_the_image() -> None:
    config = stack_config("prod")
    current = recording("prod")
    previous = run_offline(dataclasses.replace(config, image=ImageConfig(None, "0.0.9")))
    before = {r.urn: r.inputs for r in current.resources}
    after = {r.urn: r.inputs for r in previous.resources}
    assert sorted(before) == sorted(after), "a rollback adds or removes resources"
    changed = sorted(urn.rsplit("::", 1)[1] for urn in before if before[urn] != after[urn])
    assert changed == sorted(r.name for r in app_workloads(current)), changed
    assert _app_images(previous) == {f"{REPOSITORY}:0.0.9"}
    assert previous.outputs["imageTag"] == "0.0.9"


# ------------------------------------------------------------------ validation

DEV_RAW = {
    "platform": "digitalocean",
    "environment": "dev",
    "region": "fra1",
    "defaultNodePool": json.dumps({"size": "s-2vcpu-4gb", "count": 1}),
    "workerNodePool": json.dumps({"size": "s-4vcpu-8gb", "minNodes": 1, "maxNodes": 3}),
    "vpcIpRange": "10.110.0.0/20",
    "dbSize": "db-s-1vcpu-1gb",
}


def test_build_and_pinned_tags_parse() -> None:
    assert parse_stack_config("dev", {**DEV_RAW, "imageTag": "build"}).image.build
    pinned = parse_stack_config("dev", {**DEV_RAW, "imageTag": "3f9c2e1"}).image
    assert (pinned.build, pinned.tag) == (False, "3f9c2e1")


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"environment": "prod", "imageTag": "build"}, "taskstream:imageTag", "CI built"),
        ({"imageTag": "v1 beta"}, "taskstream:imageTag", "not a Docker tag"),
        ({"imageTag": "-rc1"}, "taskstream:imageTag", "not a Docker tag"),
        ({"imageTag": "a" * 129}, "taskstream:imageTag", "not a Docker tag"),
        (
            {"imageTag": "build", "imageRepository": "ghcr.io/acme/taskstream"},
            "taskstream:imageRepository",
            "must be unset",
        ),
    ],
)
def test_a_bad_image_source_fails_naming_its_key(
    changes: dict[str, str], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config("test", {**DEV_RAW, **changes})
    assert str(raised.value).startswith(f"{key}:"), raised.value
    assert words in str(raised.value)


def test_a_kubeconfig_stack_cannot_build_it_has_no_registry() -> None:
    raw = {
        "platform": "kubeconfig",
        "environment": "dev",
        "kubeContext": "kind-taskstream",
        "imageRepository": "taskstream",
        "imageTag": "build",
    }
    with pytest.raises(ConfigError, match=r"^taskstream:imageTag: 'build' pushes"):
        parse_stack_config("local", raw)


def test_the_committed_stacks_choose_build_for_dev_and_a_pinned_tag_for_prod() -> None:
    assert stack_config("dev").image.build
    assert not stack_config("prod").image.build
