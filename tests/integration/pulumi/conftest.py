"""The real Pulumi CLI on the infra program: a throwaway project per stack, offline stand-ins.

Nothing here writes into the repository: each stack runs in a temporary project
(tests/support/pulumi.py `repository_project`) whose Pulumi.yaml points `main` at the
repository's infra/ by absolute path and whose stack file is a copy (`stack init` and
`config set` write into it). Two things stand in for the internet,
in one local HTTP server:

* `/v2/...` answers the DigitalOcean API reads the program makes at preview time
  (getKubernetesVersions); everything else gets a 404 and is recorded, so a test can show
  which calls the provider made.
* `/charts/` is a Helm repository with one stub chart (Chart.yaml only) per pinned chart, at
  the pinned name and version: the Kubernetes provider downloads a release's chart in Check
  whenever its inputs and provider are known (the local stack), and the real repositories are
  out of reach here. The program points at it through `taskstream:chartRepository`.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import versions
from tests.support.pulumi import Project, install_policy_pack, repository_project
from tests.support.pulumi import pulumi_env as pulumi_env_of

PROD_WEBHOOKS = '{"oncall": "https://hooks.example.com/integration-test"}'
# The newest slug the fake API offers for the pinned prefix.
DOKS_SLUG = f"{versions.KUBERNETES_VERSION_PREFIX}1-do.0"


@pytest.fixture(scope="session")
def pulumi_env() -> dict[str, str]:
    """The built CLI with its providers, offline; uv must not reach PyPI either."""
    return {
        **pulumi_env_of(providers=True),
        "DIGITALOCEAN_TOKEN": "dummy",
        # No Docker daemon: a preview plans the dev image build without one (buildOnPreview off).
        "DOCKER_HOST": "unix:///nonexistent/taskstream-no-docker-daemon.sock",
        "UV_FROZEN": "1",
        "UV_OFFLINE": "1",
    }


@dataclass
class FakeInternet:
    """The local server: its base URL and every request path it saw."""

    url: str
    requests: list[str] = field(default_factory=list)

    @property
    def chart_repository(self) -> str:
        return f"{self.url}/charts"


def _stub_chart(chart: versions.Chart) -> bytes:
    meta = {"apiVersion": "v2", "name": chart.name, "version": chart.version, "type": "application"}
    data = yaml.safe_dump(meta).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(f"{chart.name}/Chart.yaml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _chart_routes(base: str) -> dict[str, tuple[str, bytes]]:
    routes: dict[str, tuple[str, bytes]] = {}
    entries: dict[str, list[dict[str, Any]]] = {}
    for chart in versions.CHARTS:
        file = f"{chart.name}-{chart.version}.tgz"
        routes[f"/charts/{file}"] = ("application/gzip", _stub_chart(chart))
        entries[chart.name] = [
            {
                "apiVersion": "v2",
                "name": chart.name,
                "version": chart.version,
                "urls": [f"{base}/charts/{file}"],
            }
        ]
    index = {"apiVersion": "v1", "entries": entries}
    routes["/charts/index.yaml"] = ("application/yaml", yaml.safe_dump(index).encode())
    return routes


def _do_api(path: str) -> dict[str, Any] | None:
    if path == "/v2/kubernetes/options":
        slug = DOKS_SLUG
        version = slug.split("-", 1)[0]
        return {"options": {"versions": [{"slug": slug, "kubernetes_version": version}]}}
    return None


@pytest.fixture(scope="session")
def fake_internet() -> Iterator[FakeInternet]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakeInternet(url=f"http://127.0.0.1:{server.server_address[1]}")
    routes = _chart_routes(fake.url)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            fake.requests.append(path)
            api = _do_api(path)
            if api is not None:
                content_type, body = "application/json", json.dumps(api).encode()
            elif path in routes:
                content_type, body = routes[path]
            else:
                content_type, body = "application/json", b'{"id": "not_found", "message": "fake"}'
            self.send_response(200 if api is not None or path in routes else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def make_project(stack: str, root: Path, env: dict[str, str], internet: FakeInternet) -> Project:
    """A temp project for `stack` (tests/support/pulumi.py), answered by the fake internet."""
    project = repository_project(root, stack, {**env, "DIGITALOCEAN_API_URL": internet.url})
    if stack == "prod":
        project.config("taskstream:alertWebhookUrls", PROD_WEBHOOKS, secret=True)
        _deployed_registry_owner(project)
    if stack == "local":
        project.config("taskstream:chartRepository", internet.chart_repository)
    return project


# The registry name the stand-in dev stack exports; prod's images must come from it.
OWNER_REGISTRY = "taskstream-itest"


def _deployed_registry_owner(project: Project) -> None:
    """A `dev` stack in prod's backend whose state holds only the output prod reads.

    prod reuses dev's registry and reads its name through a StackReference, so a preview of
    prod needs dev deployed; importing a one-resource state stands in for `pulumi up` of dev.
    """
    owner = project.other_stack("dev")
    owner.ok("stack", "init")
    stack_urn = "urn:pulumi:dev::taskstream::pulumi:pulumi:Stack::taskstream-dev"
    state = {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": ""},
            "resources": [
                {
                    "urn": stack_urn,
                    "custom": False,
                    "type": "pulumi:pulumi:Stack",
                    "outputs": {"registry_name": OWNER_REGISTRY},
                }
            ],
        },
    }
    path = project.directory.parent / "dev-state.json"
    path.write_text(json.dumps(state))
    owner.ok("stack", "import", "--file", str(path))


@pytest.fixture(scope="session")
def policy_pack(pulumi_env: dict[str, str]) -> Path:
    """policy/ with its virtualenv, as tests/policy uses it."""
    return install_policy_pack(pulumi_env)
