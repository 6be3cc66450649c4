"""The CrossGuard wrapper, run by the real Pulumi engine, reports what the pure rules find."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = REPO_ROOT / "policy"
PACK_VENV = PACK_DIR / ".venv"
REQUIRE_ENV = "TASKSTREAM_REQUIRE_INTEGRATION"

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


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1 requires it)", pytrace=False)
    pytest.skip(reason)


def _pulumi_env() -> dict[str, str]:
    """What tools/engines/pulumi-env.sh sets, without sourcing it."""
    versions = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / "tools/engines/versions.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    cache = Path(
        os.environ.get("TASKSTREAM_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "taskstream"
    )
    bin_dir = cache / "pulumi" / f"v{versions['PULUMI_VERSION'].strip()}" / "bin"
    if not (bin_dir / "pulumi").is_file():
        _unavailable(f"no Pulumi CLI at {bin_dir}; run `bash tools/engines/pulumi.sh cli python`")
    env = dict(os.environ)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PULUMI_HOME=str(cache / "pulumi" / "home"),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_CONFIG_PASSPHRASE="not-a-secret",
    )
    return env


@pytest.fixture(scope="module")
def engine_env() -> dict[str, str]:
    env = _pulumi_env()
    if not (PACK_VENV / "bin" / "python").exists():
        # The pack's own environment, as a developer makes it: PyPI is needed once.
        install = subprocess.run(
            ["pulumi", "install"],
            cwd=PACK_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if install.returncode != 0:
            _unavailable(f"cannot create policy/.venv:\n{install.stdout}{install.stderr}")
    return env


def _preview(
    tmp_path: Path, env: dict[str, str], *, broken: bool
) -> subprocess.CompletedProcess[str]:
    project = tmp_path / "program"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: policy-smoke
            runtime:
              name: python
              options:
                virtualenv: {PACK_VENV}
            """
        )
    )
    (project / "__main__.py").write_text(f"BROKEN = {broken}\n{PROGRAM}")
    # The rules read "prod" from the stack name, so each test gets its own backend.
    (tmp_path / "state").mkdir()
    env = {**env, "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri()}
    subprocess.run(
        ["pulumi", "stack", "init", "prod", "--non-interactive"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return subprocess.run(
        [
            "pulumi",
            "preview",
            "--stack",
            "prod",
            "--non-interactive",
            "--policy-pack",
            str(PACK_DIR),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


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
