"""The CrossGuard wrapper, run by the real Pulumi engine, reports what the pure rules find."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pulumi import (
    PACK_DIR,
    Run,
    install_policy_pack,
    pulumi_env,
    python_project,
    temp_project,
)

PACK_VENV = PACK_DIR / ".venv"

pytestmark = pytest.mark.integration

# Components stand in for provider resources: the engine hands their type token, inputs and
# protect flag to the pack exactly as it would a Deployment's, with no provider plugin needed.
PROGRAM = """
import pulumi

class Stand(pulumi.ComponentResource):
    def __init__(self, type_, name, props, protect=False):
        super().__init__(type_, name, props, pulumi.ResourceOptions(protect=protect))
        # Stack policies read outputs; a custom resource's planned outputs are its inputs.
        self.register_outputs(props)

image = "registry.digitalocean.com/taskstream/taskstream:" + ("latest" if BROKEN else "3f2a9c1")
resources = {"requests": {"cpu": "100m", "memory": "128Mi"},
             "limits": {"cpu": "500m", "memory": "256Mi"}}
labels = {"app.kubernetes.io/name": "taskstream-api"}
Stand("kubernetes:apps/v1:Deployment", "api", {
    "metadata": {"name": "taskstream-api", "namespace": "taskstream"},
    "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "api", "image": image, "resources": resources}]}}}})
Stand("kubernetes:policy/v1:PodDisruptionBudget", "api-pdb", {
    "metadata": {"name": "taskstream-api", "namespace": "taskstream"},
    "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}})
Stand("digitalocean:index/databaseCluster:DatabaseCluster", "db", {"engine": "pg"},
      protect=not BROKEN)
"""


@pytest.fixture(scope="module")
def engine_env() -> dict[str, str]:
    env = pulumi_env(providers=False)  # the program below needs no provider plugin
    install_policy_pack(env)
    return env


def _preview(tmp_path: Path, env: dict[str, str], *, broken: bool) -> Run:
    # The rules read "prod" from the stack name; each test gets its own project and backend.
    project = temp_project(
        tmp_path,
        stack="prod",
        env=env,
        pulumi_yaml=python_project("policy-smoke", PACK_VENV, uv=False),
        program=f"BROKEN = {broken}\n{PROGRAM}",
    )
    return project.pulumi("preview", "--policy-pack", str(PACK_DIR), timeout=300)


def test_the_engine_runs_the_pack_and_a_compliant_prod_stack_passes(
    tmp_path: Path, engine_env: dict[str, str]
) -> None:
    result = _preview(tmp_path, engine_env, broken=False)
    assert result.returncode == 0, f"preview failed:\n{result.stdout}{result.stderr}"
    assert "taskstream@" in result.stdout, f"the pack did not run:\n{result.stdout}"


def test_the_engine_blocks_a_prod_stack_that_breaks_the_rules(
    tmp_path: Path, engine_env: dict[str, str]
) -> None:
    result = _preview(tmp_path, engine_env, broken=True)
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"mandatory violations did not fail the preview:\n{output}"
    for policy in ("pinned-images", "prod-protected-state"):
        assert f"[mandatory]  {policy}" in output, f"{policy} not reported:\n{output}"
    assert "container-resources" not in output, f"a compliant resource was flagged:\n{output}"
