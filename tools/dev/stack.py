"""The real event path on loopback: the four taskstream processes, each beside its own daprd.

    with KafkaBroker() as broker:
        broker.create_topics(TOPICS)
        with EventPath(database_url=url, broker=broker, workdir=tmp) as path:
            httpx.post(f"{path.api_url}/api/v1/...")
            path.service("notifier").kill()    # the worker and its sidecar crash
            path.service("notifier").start()   # same ports, same resources

Used by the integration tests (tests/integration/test_event_path.py) and by the developer
entry point (tools/dev/event_path.py). The engines come from tests/support, which finds
them in the per-machine cache that tools/engines/*.sh fill.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from app import contract
from infra.dapr_manifests import pubsub_app_ids
from tests.support.daprd import Daprd
from tests.support.kafka import KafkaBroker
from tests.support.ports import LOOPBACK, free_port
from tests.support.process import ManagedProcess
from tools.dev.dapr_resources import LocalDaprResources, write_resources


class ProcessError(RuntimeError):
    """A taskstream process failed to start or to answer."""


def taskstream_command() -> list[str]:
    """The `taskstream` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("taskstream")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from taskstream.cli import main; main()"]


def tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])


class AppProcess(ManagedProcess):
    """One `taskstream ...` subprocess on a loopback port, its output in a log file."""

    def __init__(
        self, name: str, args: Sequence[str], *, port: int, env: Mapping[str, str], log_path: Path
    ) -> None:
        self.name = name
        self.args = list(args)
        self.port = port
        self.env = dict(env)
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def launch(self) -> None:
        """Start without waiting; `wait_healthy` waits."""
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [*taskstream_command(), *self.args, "--host", LOOPBACK, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                # Its own session: a Ctrl-C in the terminal reaches only the supervisor,
                # which then stops every process in order.
                start_new_session=True,
            )

    def wait_healthy(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if not self.running:
                raise ProcessError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                response = httpx.get(f"{self.url}{contract.HEALTH_PATH}", timeout=2)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.2)
        raise ProcessError(
            f"{self.name} not healthy within {timeout}s ({last}):\n{self.log_tail()}"
        )


class Service:
    """A taskstream process and its daprd sidecar, started and stopped together."""

    def __init__(self, process: contract.Process, app: AppProcess, sidecar: Daprd) -> None:
        self.process = process
        self.app = app
        self.sidecar = sidecar

    @property
    def name(self) -> str:
        return self.process.name

    @property
    def url(self) -> str:
        return self.app.url

    def start(self) -> None:
        """App first: daprd opens its app channel and subscribes once the port is up."""
        self.app.launch()
        self.app.wait_healthy()
        self.sidecar.start()
        self.sidecar.wait_app_ready(timeout=60)

    def stop(self) -> None:
        self.sidecar.stop()
        self.app.stop()

    def kill(self) -> None:
        self.sidecar.kill()
        self.app.kill()

    def log_tails(self, lines: int = 40) -> str:
        return (
            f"--- {self.name} ({self.app.log_path}) ---\n{self.app.log_tail(lines)}\n"
            f"--- {self.name} daprd ({self.sidecar.log_path}) ---\n"
            f"{tail(self.sidecar.log_path, lines)}"
        )


class EventPath:
    """api, relay, notifier and recurrer, each with its own daprd, on one broker and database.

    The database must exist; `start` migrates it with `taskstream migrate`. The broker must
    be running with its topics created (pubsub.kafka never creates them).
    """

    def __init__(
        self,
        *,
        database_url: str,
        broker: KafkaBroker,
        workdir: Path,
        environment: str = "test",
        api_port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.broker = broker
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.environment = environment
        self.api_port = api_port
        self.extra_env = dict(extra_env or {})
        self.resources: LocalDaprResources | None = None
        self.services: dict[str, Service] = {}
        # Both of Dapr's tokens, as the cluster configures them: daprd reads them from its
        # environment in standalone mode, the app from the same variable names.
        self.dapr_tokens = {
            contract.ENV_APP_API_TOKEN: secrets.token_urlsafe(32),
            contract.ENV_DAPR_API_TOKEN: secrets.token_urlsafe(32),
        }

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> EventPath:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def base_env(self) -> dict[str, str]:
        return {
            contract.ENV_DATABASE_URL: self.database_url,
            contract.ENV_ENVIRONMENT: self.environment,
            contract.ENV_EVENT_BUS: "dapr",
            # The Subscription resources are in daprd's resources dir, as in the cluster.
            contract.ENV_DAPR_SUBSCRIPTIONS: "declarative",
            "TASKSTREAM_RELAY_POLL_SECONDS": "0.1",
            "TASKSTREAM_NOTIFIER_POLL_SECONDS": "0.2",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.resources = write_resources(
            self.workdir / "dapr", brokers=self.broker.bootstrap_servers
        )
        self.migrate()
        for process in contract.PROCESSES:
            self.services[process.name] = self._service(process)
        # Python start-up is the slow part on a busy machine: launch all four, then wait.
        for service in self.services.values():
            service.app.launch()
        for service in self.services.values():
            service.app.wait_healthy()
        for service in self.services.values():
            service.sidecar.start()
        for service in self.services.values():
            service.sidecar.wait_app_ready(timeout=60)

    def migrate(self) -> None:
        log_path = self.logs / "migrate.log"
        with log_path.open("ab") as log:
            result = subprocess.run(
                [*taskstream_command(), *contract.MIGRATE_ARGS],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.base_env()},
                timeout=300,
                check=False,
            )
        if result.returncode != 0:
            raise ProcessError(f"taskstream migrate failed:\n{tail(log_path, 40)}")

    def close(self) -> None:
        # Sidecars first: nothing is delivered to an app that is shutting down.
        for service in reversed(list(self.services.values())):
            service.sidecar.close()
        for service in reversed(list(self.services.values())):
            service.app.stop()

    def _service(self, process: contract.Process) -> Service:
        assert self.resources is not None
        port = self.api_port if process is contract.API and self.api_port else free_port()
        sidecar = Daprd(
            process.app_id,
            app_port=port,
            resources_dir=self.resources.resources_dir,
            config=self.resources.config_path,
            # As the injector gives it in the cluster: the process's own Kafka user and the
            # broker's CA (none for the API, whose sidecar loads no pub/sub).
            env={**self.dapr_tokens, **self._kafka_env(process)},
        )
        # Keep the sidecar's log beside the app's, where a failing test points.
        sidecar.log_path = self.logs / f"{process.name}-daprd.log"
        app = AppProcess(
            process.name,
            process.args,
            port=port,
            env={
                **self.base_env(),
                **self.dapr_tokens,
                contract.ENV_DAPR_HTTP_ENDPOINT: sidecar.http_url,
            },
            log_path=self.logs / f"{process.name}.log",
        )
        return Service(process, app, sidecar)

    def _kafka_env(self, process: contract.Process) -> dict[str, str]:
        if process.app_id not in pubsub_app_ids():
            return {}
        return self.broker.dapr_env(process.app_id)

    # -- access ----------------------------------------------------------------------

    def service(self, name: str) -> Service:
        return self.services[name]

    @property
    def api_url(self) -> str:
        return self.services[contract.API.name].url

    def log_tails(self, lines: int = 40) -> str:
        parts = [service.log_tails(lines) for service in self.services.values()]
        parts.append(f"--- kafka ({self.broker.log_path}) ---\n{self.broker.log_tail(lines)}")
        return "\n".join(parts)
