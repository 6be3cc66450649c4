"""Where the provisioned engines live, and how a test asks for one.

The provisioning scripts in tools/engines build or fetch the engines into a per-machine
cache outside the repository ($TASKSTREAM_CACHE, default
${XDG_CACHE_HOME:-~/.cache}/taskstream), keyed by the versions in
tools/engines/versions.env. These helpers find them there and return None when absent.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO_ROOT / "tools" / "engines" / "versions.env"
REQUIRE_ENV = "TASKSTREAM_REQUIRE_INTEGRATION"


def integration_required() -> bool:
    """True in CI, where a missing engine is a failure rather than a skip."""
    return os.environ.get(REQUIRE_ENV) == "1"


def require_engine(name: str, available: bool, reason: str) -> None:
    """Skip the calling test when an engine is missing; fail instead when CI requires it."""
    if available:
        return
    if integration_required():
        pytest.fail(
            f"{name} is required ({REQUIRE_ENV}=1) but unavailable: {reason}", pytrace=False
        )
    pytest.skip(f"{name} unavailable: {reason}")


def cache_root() -> Path:
    """Same resolution as tools/engines/lib.sh."""
    explicit = os.environ.get("TASKSTREAM_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "taskstream"


@cache
def engine_versions() -> dict[str, str]:
    """The KEY=VALUE pairs of tools/engines/versions.env."""
    versions: dict[str, str] = {}
    for raw in VERSIONS_FILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        versions[key.strip()] = value.strip().strip("'\"")
    return versions


def daprd_path() -> Path | None:
    """The cached daprd binary built by tools/engines/daprd.sh, or None."""
    version = engine_versions()["DAPR_VERSION"]
    path = cache_root() / "dapr" / f"v{version}" / "daprd"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def kafka_libs() -> Path | None:
    """The Kafka broker classpath directory filled by tools/engines/kafka.sh, or None."""
    version = engine_versions()["KAFKA_VERSION"]
    libs = cache_root() / "kafka" / version / "libs"
    return libs if (libs / f"kafka_2.13-{version}.jar").is_file() else None


def java_path() -> str | None:
    """The java launcher the broker runs on (JAVA_HOME first, then PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
    return shutil.which("java")


def postgres_bindir() -> Path | None:
    """The directory with initdb, pg_ctl and postgres (PATH first, then Debian's layout)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
        reverse=True,
    )
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def require_kafka() -> Path:
    """The Kafka classpath, or skip/fail the test with how to provision it."""
    libs = kafka_libs()
    require_engine(
        "kafka",
        libs is not None and java_path() is not None,
        "run tools/engines/kafka.sh (needs mvn and java 17+)"
        if java_path()
        else "no java on PATH or JAVA_HOME",
    )
    assert libs is not None
    return libs


def require_daprd() -> Path:
    """The daprd binary, or skip/fail the test with how to provision it."""
    path = daprd_path()
    require_engine("daprd", path is not None, "run tools/engines/daprd.sh (needs go)")
    assert path is not None
    return path
