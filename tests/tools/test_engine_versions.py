"""The Pulumi engine plugins we build must match the Python SDKs the lock file installs.

tools/engines/pulumi.sh builds the CLI and the provider plugins at the versions in
tools/engines/versions.env; the program talks to them through the SDKs pinned in uv.lock.
A provider SDK of one version driving a plugin of another is exactly the drift this catches.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSIONS_ENV = ROOT / "tools" / "engines" / "versions.env"
UV_LOCK = ROOT / "uv.lock"

# versions.env key -> locked Python distribution
PAIRS = {
    "PULUMI_VERSION": "pulumi",
    "PULUMI_KUBERNETES_VERSION": "pulumi-kubernetes",
    "PULUMI_DIGITALOCEAN_VERSION": "pulumi-digitalocean",
    "PULUMI_RANDOM_VERSION": "pulumi-random",
    "PULUMI_DOCKER_BUILD_VERSION": "pulumi-docker-build",
}


def read_versions_env(path: Path) -> dict[str, str]:
    """Parse the shell-style KEY=VALUE lines; comments and blanks are ignored."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a KEY=VALUE line: {raw!r}"
        values[key.strip()] = value.strip().strip("'\"")
    return values


def read_locked_versions(path: Path) -> dict[str, list[str]]:
    """Map each locked package name to its version(s) (a lock may carry forks)."""
    lock = tomllib.loads(path.read_text(encoding="utf-8"))
    locked: dict[str, list[str]] = {}
    for package in lock.get("package", []):
        if "version" in package:
            locked.setdefault(package["name"], []).append(package["version"])
    return locked


@pytest.fixture(scope="module")
def env_versions() -> dict[str, str]:
    return read_versions_env(VERSIONS_ENV)


@pytest.fixture(scope="module")
def locked() -> dict[str, list[str]]:
    return read_locked_versions(UV_LOCK)


@pytest.mark.parametrize(("key", "package"), sorted(PAIRS.items()))
def test_engine_version_matches_locked_sdk(
    key: str, package: str, env_versions: dict[str, str], locked: dict[str, list[str]]
) -> None:
    assert key in env_versions, f"{VERSIONS_ENV.name} has no {key}"
    assert package in locked, f"uv.lock does not lock {package}"
    built = env_versions[key]
    assert locked[package] == [built], (
        f"{key}={built} in tools/engines/versions.env but uv.lock locks "
        f"{package}=={', '.join(locked[package])}: change both together "
        f"(the plugin built must equal the Python SDK that drives it)"
    )


def test_versions_env_parser_ignores_comments(tmp_path: Path) -> None:
    sample = tmp_path / "versions.env"
    sample.write_text("# comment\n\nPULUMI_VERSION=1.2.3\nX='4'\n", encoding="utf-8")
    assert read_versions_env(sample) == {"PULUMI_VERSION": "1.2.3", "X": "4"}
