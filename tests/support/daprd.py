"""A real daprd sidecar for one app id, bound to loopback on free ports, for integration tests.

The binary comes from tools/engines/daprd.sh (the per-machine cache). Start the broker
(and anything else a component needs) first: daprd initialises components before it
serves, and exits when one fails.

    with Daprd("taskstream-notifier", app_port=8001, resources_dir=res) as dapr:
        httpx.post(f"{dapr.http_url}/v1.0/publish/{pubsub}/{topic}", json=...)
        dapr.wait_app_ready()      # /v1.0/healthz: components, APIs and the app channel
        dapr.stop(); dapr.start()  # same ports, same resources
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from app.contract import DAPR_API_TOKEN_HEADER, ENV_DAPR_API_TOKEN

from .engines import daprd_path
from .kafka import EngineError
from .ports import LOOPBACK, free_ports
from .process import EngineProcess


class Daprd(EngineProcess):
    """One daprd process (standalone mode, no control plane) for one app id."""

    def __init__(
        self,
        app_id: str,
        *,
        app_port: int | None,
        resources_dir: Path | str,
        config: Path | str | None = None,
        binary: Path | None = None,
        app_protocol: str = "http",
        log_level: str = "info",
        startup_timeout: float = 60.0,
        graceful_shutdown_seconds: int = 2,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        found = binary or daprd_path()
        if found is None:
            raise EngineError("daprd not provisioned: run tools/engines/daprd.sh")
        self.binary = found
        self.app_id = app_id
        self.app_port = app_port
        self.resources_dir = Path(resources_dir)
        self.config = Path(config) if config is not None else None
        self.app_protocol = app_protocol
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.graceful_shutdown_seconds = graceful_shutdown_seconds
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        (
            self.http_port,
            self.grpc_port,
            self.internal_grpc_port,
            self.metrics_port,
        ) = free_ports(4)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"taskstream-daprd-{app_id}-"))
        self.log_path = self.workdir / "daprd.log"
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses -------------------------------------------------------------------

    @property
    def http_url(self) -> str:
        """Base URL of the Dapr HTTP API (what TASKSTREAM_DAPR_HTTP_ENDPOINT points at)."""
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def grpc_address(self) -> str:
        return f"{LOOPBACK}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.metrics_port}/metrics"

    # -- lifecycle -------------------------------------------------------------------

    def command(self) -> list[str]:
        args = [
            str(self.binary),
            "--mode",
            "standalone",
            "--app-id",
            self.app_id,
            "--app-protocol",
            self.app_protocol,
            "--dapr-listen-addresses",
            LOOPBACK,
            "--dapr-http-port",
            str(self.http_port),
            "--dapr-grpc-port",
            str(self.grpc_port),
            "--dapr-internal-grpc-port",
            str(self.internal_grpc_port),
            "--dapr-internal-grpc-listen-address",
            LOOPBACK,
            "--metrics-port",
            str(self.metrics_port),
            "--metrics-listen-address",
            LOOPBACK,
            "--app-channel-address",
            LOOPBACK,
            "--resources-path",
            str(self.resources_dir),
            "--log-level",
            self.log_level,
            "--dapr-graceful-shutdown-seconds",
            str(self.graceful_shutdown_seconds),
        ]
        if self.app_port is not None:
            args += ["--app-port", str(self.app_port)]
        if self.config is not None:
            args += ["--config", str(self.config)]
        return [*args, *self.extra_args]

    def start(self) -> None:
        """Start (or restart, on the same ports) and wait for /v1.0/healthz/outbound."""
        if self.running:
            return
        env = {**os.environ, **self.env}
        # No ~/.dapr lookups and no accidental control plane: standalone, loopback only.
        env.setdefault("DAPR_HOST_IP", LOOPBACK)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                env=env,
                start_new_session=True,
            )
        self._wait_for("/v1.0/healthz/outbound", self.startup_timeout)

    def wait_app_ready(self, timeout: float = 30.0) -> None:
        """Wait for /v1.0/healthz: the sidecar is up and has connected to the app."""
        self._wait_for("/v1.0/healthz", timeout)

    # -- API helpers -----------------------------------------------------------------

    @property
    def api_headers(self) -> dict[str, str]:
        """What a caller of this daprd's API sends: its API token, when it enforces one."""
        token = self.env.get(ENV_DAPR_API_TOKEN)
        return {DAPR_API_TOKEN_HEADER: token} if token else {}

    def publish(
        self,
        pubsub: str,
        topic: str,
        data: Any,
        *,
        partition_key: str | None = None,
        cloudevent_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> httpx.Response:
        """POST /v1.0/publish/{pubsub}/{topic} with JSON data; returns the raw response."""
        params: dict[str, str] = {f"metadata.{k}": v for k, v in (metadata or {}).items()}
        if partition_key is not None:
            params["metadata.partitionKey"] = partition_key
        if cloudevent_id is not None:
            params["metadata.cloudevent.id"] = cloudevent_id
        return httpx.post(
            f"{self.http_url}/v1.0/publish/{pubsub}/{topic}",
            json=data,
            params=params,
            headers=self.api_headers,
            timeout=timeout,
        )

    def metadata(self) -> dict[str, Any]:
        """GET /v1.0/metadata: loaded components, subscriptions, app connection."""
        response = httpx.get(f"{self.http_url}/v1.0/metadata", headers=self.api_headers, timeout=5)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    # -- internals -------------------------------------------------------------------

    def _wait_for(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if not self.running:
                raise EngineError(
                    f"daprd {self.app_id} exited (code "
                    f"{self._process.returncode if self._process else '?'}) "
                    f"waiting for {path}:\n{self.log_tail()}"
                )
            try:
                response = httpx.get(f"{self.http_url}{path}", timeout=2)
                if response.status_code == 204:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.2)
        raise EngineError(
            f"daprd {self.app_id}: {path} not ready within {timeout}s ({last}):\n{self.log_tail()}"
        )
