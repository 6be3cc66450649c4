"""The two switches the real-engine tests need: a chart mirror and rendering YAML to a directory."""

from __future__ import annotations

import dataclasses

import pytest

from infra.config import ConfigError, parse_stack_config
from infra.render.offline import run_offline
from infra.render.stack_files import raw_stack_config
from tests.infra.stacks import ROOT, stack_config

RELEASE = "kubernetes:helm.sh/v3:Release"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def _raw(stack: str, **changes: str) -> dict[str, str]:
    return {**raw_stack_config(ROOT / f"Pulumi.{stack}.yaml"), **changes}


def test_the_committed_stacks_use_the_charts_own_repositories_and_apply_to_a_cluster() -> None:
    for stack in ("dev", "local"):
        config = stack_config(stack)
        assert config.chart_repository is None, f"{stack} should not default to a mirror"
        assert config.render_yaml_to is None, f"{stack} should apply, not render"


def test_a_chart_mirror_must_be_an_http_url() -> None:
    config = parse_stack_config("local", _raw("local", chartRepository="http://127.0.0.1:8879"))
    assert config.chart_repository == "http://127.0.0.1:8879"
    with pytest.raises(ConfigError, match="taskstream:chartRepository"):
        parse_stack_config("local", _raw("local", chartRepository="charts.example.com"))


def test_render_yaml_to_must_be_an_absolute_path() -> None:
    config = parse_stack_config("local", _raw("local", renderYamlTo="/tmp/rendered"))
    assert config.render_yaml_to == "/tmp/rendered"
    with pytest.raises(ConfigError, match="taskstream:renderYamlTo"):
        parse_stack_config("local", _raw("local", renderYamlTo="rendered"))


def test_render_yaml_to_is_refused_on_digitalocean() -> None:
    with pytest.raises(ConfigError, match=r"taskstream:renderYamlTo.*kubeconfig"):
        parse_stack_config("dev", _raw("dev", renderYamlTo="/tmp/rendered"))


def test_every_release_pulls_from_the_mirror_when_one_is_set() -> None:
    config = dataclasses.replace(stack_config("local"), chart_repository="http://mirror:8879")
    releases = run_offline(config).of_type(RELEASE)
    assert releases, "the local stack declares no Helm release"
    repos = {r.name: r.inputs["repositoryOpts"]["repo"] for r in releases}
    assert set(repos.values()) == {"http://mirror:8879"}, f"not all from the mirror: {repos}"


def test_a_render_only_stack_renders_through_its_provider_and_installs_no_release() -> None:
    config = dataclasses.replace(stack_config("local"), render_yaml_to="/tmp/rendered")
    recording = run_offline(config)
    assert not recording.of_type(RELEASE), "a Helm release cannot be created without a cluster"
    placeholders = recording.of_type("taskstream:platform:UnrenderedHelmRelease")
    assert len(placeholders) == len(run_offline(stack_config("local")).of_type(RELEASE)), (
        "every release should leave a placeholder dependents wait on"
    )
    (provider,) = recording.of_type(K8S_PROVIDER)
    assert provider.inputs.get("renderYamlToDirectory") == "/tmp/rendered", provider.inputs
