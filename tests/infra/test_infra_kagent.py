"""kagent: off unless a stack asks, and then read-only by construction (render, keys, policy)."""

from __future__ import annotations

import functools
from typing import Any

import kubernetes_validate
import pytest
import yaml

from infra import versions
from infra.components import kagent
from infra.config import ConfigError, parse_stack_config
from infra.render.offline import run_offline
from infra.render.recording import Recording, is_secret, reveal
from infra.render.stack_files import raw_stack_config
from policy.model import Resource
from policy.rules import evaluate
from tests.infra import capacity
from tests.infra.stacks import ROOT
from tests.infra.test_infra_chart_values import CHART_KEYS, _known, _leaf_paths
from tests.infra.test_infra_config import VALID_DO

RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
API_KEY = "sk-test-not-a-real-key"  # the value a stack would set with --secret


@functools.cache
def _dev_with_kagent() -> Recording:
    raw = raw_stack_config(ROOT / "Pulumi.dev.yaml", {"kagent": "true", "kagentApiKey": API_KEY})
    return run_offline(parse_stack_config("dev", raw))


def _releases(rec: Recording) -> dict[str, dict[str, Any]]:
    return {inputs["name"]: inputs for inputs in (reveal(r.inputs) for r in rec.of_type(RELEASE))}


def test_no_committed_stack_installs_kagent(recorded: Recording, stack: str) -> None:
    assert not {"kagent", "kagent-crds"} & set(_releases(recorded)), stack
    assert recorded.of_type(CLUSTER_ROLE) == [], stack


def test_a_stack_that_asks_gets_both_pinned_charts_with_known_keys() -> None:
    releases = _releases(_dev_with_kagent())
    known = yaml.safe_load(CHART_KEYS.read_text(encoding="utf-8"))
    for name, chart in (("kagent-crds", versions.KAGENT_CRDS), ("kagent", versions.KAGENT)):
        release = releases[name]
        assert release["chart"] == f"{chart.repository}/{chart.name}", release["chart"]
        assert release["version"] == chart.version
        allowed = known[f"{chart.name} {chart.version}"]
        unknown = [p for p in _leaf_paths(release["values"]) if not _known(p, allowed)]
        assert not unknown, f"{name} sets keys the chart does not define: {unknown}"


def test_the_tool_server_runs_read_only_on_our_role_and_the_controller_in_its_namespace() -> None:
    rec = _dev_with_kagent()
    values = _releases(rec)["kagent"]["values"]
    tools = values["kagent-tools"]
    assert tools["rbac"]["create"] is False, "the chart's tool-server role is cluster-admin"
    assert "--read-only" in tools["tools"]["args"]
    assert values["rbac"]["namespaces"] == [kagent.NAMESPACE]
    [role] = rec.of_type(CLUSTER_ROLE)
    [binding] = rec.of_type(BINDING)
    role_inputs = reveal(role.inputs)
    binding_inputs = reveal(binding.inputs)
    assert binding_inputs["roleRef"]["name"] == role_inputs["metadata"]["name"]
    assert binding_inputs["subjects"] == [
        {"kind": "ServiceAccount", "name": "kagent-tools", "namespace": kagent.NAMESPACE}
    ]
    violations = evaluate([Resource(CLUSTER_ROLE, role.name, role_inputs)], "dev")
    assert violations == []
    labels = role_inputs["metadata"]["labels"]
    assert labels[kagent.ACCESS_LABEL] == kagent.READ_ONLY, "the policy would skip the role"


def test_the_model_key_reaches_its_secret_only_as_a_secret() -> None:
    rec = _dev_with_kagent()
    [secret] = [r for r in rec.of_type("kubernetes:core/v1:Secret") if r.name == "kagent-model-key"]
    data = secret.inputs["stringData"]
    assert is_secret(data), "the API key would be stored in plain text in the state"
    assert reveal(data) == {"OPENAI_API_KEY": API_KEY}


def test_kagent_fits_dev_with_a_node_drained() -> None:
    rec = _dev_with_kagent()
    pods = capacity.stack_pods(rec, managed=True)
    assert any(pod.name.startswith("kagent-controller") for pod in pods)
    daemons = capacity.per_node(rec, managed=True)
    pools = capacity.doks_pools(rec)
    problems = [
        problem
        for _, remaining in [("all up", pools), *capacity.drained(pools)]
        for problem in capacity.shortfalls(pods, remaining, daemons)
    ]
    assert not problems, "\n".join(problems)


# --- config --------------------------------------------------------------------------------


def test_kagent_is_off_by_default() -> None:
    assert parse_stack_config("test", VALID_DO).kagent is None


def test_kagent_needs_its_api_key_and_says_how_to_set_it() -> None:
    with pytest.raises(ConfigError, match=r"taskstream:kagentApiKey: .*--secret"):
        parse_stack_config("test", {**VALID_DO, "kagent": "true"})


def test_an_unknown_provider_names_its_key() -> None:
    with pytest.raises(ConfigError, match="taskstream:kagentProvider:"):
        parse_stack_config(
            "test",
            {**VALID_DO, "kagent": "true", "kagentProvider": "eliza", "kagentApiKey": "k"},
        )


def test_a_key_for_a_kagent_that_is_off_is_refused() -> None:
    with pytest.raises(ConfigError, match="taskstream:kagentApiKey: has no effect"):
        parse_stack_config("test", {**VALID_DO, "kagentApiKey": "k"})


def test_the_key_never_shows_in_the_config() -> None:
    config = parse_stack_config(
        "test",
        {**VALID_DO, "kagent": "true", "kagentProvider": "anthropic", "kagentApiKey": API_KEY},
    )
    assert config.kagent is not None
    assert config.kagent.provider == "anthropic"
    assert API_KEY not in repr(config)


def test_kagents_own_objects_validate_against_the_targeted_minor() -> None:
    names = ("kagent-ns", "kagent-model-key", "kagent-read-only")
    objects = [r for r in _dev_with_kagent().resources if r.name in names and r.custom]
    assert len(objects) == 4, [r.name for r in objects]  # namespace, secret, role, binding
    for resource in objects:
        kubernetes_validate.validate(
            reveal(resource.inputs), versions.KUBERNETES_MINOR, strict=True
        )
