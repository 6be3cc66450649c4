"""Refresh with the program's provider credentials, not the expired ones saved in state.

The real CLI and DigitalOcean provider against a local stand-in for the DigitalOcean API
that, like DOKS with its 7-day cluster tokens, accepts only the current credential. A
tiny program configures an explicit provider from a config value that changes between
runs. Plain `refresh` (and `preview --refresh`) configure providers from state and fail
with the old credential; `--run-program` (PULUMI_RUN_PROGRAM=true, what the workflows set)
runs the program first and uses the new one. The second test shows why a credential in a
provider's inputs is itself drift: a changed value is a provider update, which is why the
cluster's kubeconfig carries no token (infra/components/cluster.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import REPO_ROOT
from tests.support.pulumi import Project, Run, python_project, temp_project

pytestmark = pytest.mark.integration

TAG = "taskstream-refresh-check"
PROGRAM = f"""\
import pulumi
import pulumi_digitalocean as do

config = pulumi.Config()
provider = do.Provider(
    "do", token=config.require_secret("token"), api_endpoint=config.require("api")
)
do.Tag("tag", name="{TAG}", opts=pulumi.ResourceOptions(provider=provider))
"""


@dataclass
class FakeApi:
    """The DigitalOcean tags API; only tokens in `valid` authenticate."""

    url: str = ""
    valid: set[str] = field(default_factory=set)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, token)
    # Each read reports a new count, as each read of a DOKS cluster reports a new token.
    churn_outputs: bool = False

    def tokens_used(self) -> set[str]:
        return {token for _, path, token in self.seen if path.startswith("/v2/tags")}


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    # godo's TaggedResources: the provider reads every kind's count.
    kinds = ("droplets", "images", "volumes", "volume_snapshots", "databases")
    resources: dict[str, Any] = {"count": 0, **{kind: {"count": 0} for kind in kinds}}
    tag = {"tag": {"name": TAG, "resources": resources}}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            path = self.path.split("?", 1)[0]
            fake.seen.append((self.command, path, token))
            if token not in fake.valid:
                status, body = 401, {"id": "Unauthorized", "message": "Unable to authenticate you"}
            elif path in ("/v2/tags", f"/v2/tags/{TAG}"):
                if fake.churn_outputs:
                    resources["count"] += 1
                status, body = (201 if self.command == "POST" else 200), tag
            else:
                status, body = 404, {"id": "not_found", "message": "fake"}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake
    server.shutdown()
    server.server_close()


@dataclass
class Stack:
    """The program above as stack `check` of a temp project (tests/support/pulumi.py)."""

    project: Project

    def run(self, *args: str, run_program: bool = False) -> Run:
        env = {"PULUMI_RUN_PROGRAM": "true"} if run_program else None
        return self.project.pulumi(*args, timeout=300, env=env)

    def ok(self, *args: str, run_program: bool = False) -> str:
        result = self.run(*args, run_program=run_program)
        assert result.returncode == 0, result.output
        return result.stdout

    def token(self, value: str) -> None:
        self.ok("config", "set", "--secret", "token", value)


@pytest.fixture
def stack(tmp_path: Path, pulumi_env: dict[str, str], api: FakeApi) -> Stack:
    env = {k: v for k, v in pulumi_env.items() if k != "DIGITALOCEAN_TOKEN"}
    project_file = {
        **python_project("refresh-credentials", REPO_ROOT / ".venv"),
        "main": "__main__.py",
    }
    project = temp_project(
        tmp_path, stack="check", env=env, pulumi_yaml=project_file, program=PROGRAM
    )
    created = Stack(project)
    created.ok("config", "set", "api", api.url)
    return created


def _failed_with_old_token(result: Run, api: FakeApi) -> None:
    assert result.returncode != 0, f"succeeded with an expired token:\n{result.stdout}"
    assert api.tokens_used() == {"token-week-old"}, api.seen


def test_refresh_after_the_credential_expired_needs_run_program(stack: Stack, api: FakeApi) -> None:
    api.valid = {"token-week-old"}
    stack.token("token-week-old")
    stack.ok("up", "--yes", "--skip-preview")

    # A week later: the token in state has expired; the program now yields a fresh one.
    api.valid = {"token-today"}
    stack.token("token-today")

    api.seen.clear()
    _failed_with_old_token(stack.run("refresh", "--yes"), api)
    api.seen.clear()
    _failed_with_old_token(stack.run("preview", "--refresh"), api)

    api.seen.clear()
    stack.ok("refresh", "--yes", "--run-program")
    assert api.tokens_used() == {"token-today"}, api.seen
    api.seen.clear()
    stack.ok("refresh", "--yes", run_program=True)
    assert api.tokens_used() == {"token-today"}, "PULUMI_RUN_PROGRAM did not run the program"
    api.seen.clear()
    stack.ok("preview", "--refresh", run_program=True)
    assert api.tokens_used() == {"token-today"}, api.seen


def test_a_credential_that_changes_per_run_is_reported_as_drift(stack: Stack, api: FakeApi) -> None:
    api.valid = {"token-a", "token-b"}
    stack.token("token-a")
    stack.ok("up", "--yes", "--skip-preview")
    drift_check = ("preview", "--refresh", "--expect-no-changes")

    stack.ok(*drift_check, run_program=True)  # the same credential: no drift

    stack.token("token-b")  # what a kubeconfig read on every run amounts to
    churned = stack.run(*drift_check, run_program=True)
    assert churned.returncode != 0, f"a changed provider credential passed:\n{churned.stdout}"
    assert "pulumi:providers:digitalocean" in churned.stdout, churned.stdout


def test_outputs_that_change_on_every_read_are_not_drift(stack: Stack, api: FakeApi) -> None:
    # The cluster resource's own kube_configs output holds a token that differs on every
    # read; a refresh records it, but only input changes fail --expect-no-changes.
    api.valid = {"token-a"}
    api.churn_outputs = True
    stack.token("token-a")
    stack.ok("up", "--yes", "--skip-preview")
    out = stack.ok("preview", "--refresh", "--expect-no-changes", "--diff", run_program=True)
    assert "totalResourceCount" in out, f"the refresh saw no changed output:\n{out}"
