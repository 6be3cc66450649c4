"""`taskstream run` as a new user types it: no environment set, and it serves as dev."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.contract import ENV_ENVIRONMENT, ENV_JWT_SECRET
from taskstream.embedded import embedded_settings
from tests.support.ports import LOOPBACK, free_port
from tests.support.waiting import wait_until

TASKSTREAM = str(Path(sys.executable).with_name("taskstream"))


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    env = {k: v for k, v in os.environ.items() if k not in (ENV_ENVIRONMENT, ENV_JWT_SECRET)}
    env["TASKSTREAM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'run.db'}"
    port = free_port()
    log = tmp_path / "run.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [TASKSTREAM, "run", "--host", LOOPBACK, "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://{LOOPBACK}:{port}"
    try:
        wait_until(
            lambda: _answers(f"{base}/healthz") or process.poll() is not None,
            timeout=60,
            what="`taskstream run` to answer /healthz",
        )
        assert process.poll() is None, f"`taskstream run` exited:\n{log.read_text()}"
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_run_starts_without_any_environment_setting_and_says_it_chose_dev(
    running: tuple[str, Path],
) -> None:
    base, log = running
    assert _answers(f"{base}/docs"), "the README's docs URL should answer under `make run`"
    assert "environment dev" in log.read_text(), "`taskstream run` should say it runs as dev"


def test_the_embedded_runner_is_dev_unless_an_environment_was_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_ENVIRONMENT, raising=False)
    assert embedded_settings().environment == "dev"
    monkeypatch.setenv(ENV_ENVIRONMENT, "prod")
    monkeypatch.setenv(ENV_JWT_SECRET, "k" * 48)
    monkeypatch.setenv("TASKSTREAM_WEBHOOK_SECRET_KEY", "w" * 48)
    assert embedded_settings().environment == "prod", "an explicit choice must be respected"
