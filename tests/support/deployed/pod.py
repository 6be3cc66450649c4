"""One rendered pod started on this host: its containers as processes, daprd beside them."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.daprd import Daprd
from tests.support.deployed.container import (
    IMAGE_VENV,
    PathMap,
    container_ports,
    kubelet_argv,
    resolve_executable,
    writable_mounts,
)
from tests.support.deployed.environment import Resolver, add_absent, container_environment
from tests.support.deployed.image import REPO_ROOT, ImageConfig
from tests.support.deployed.objects import Manifest, Workload
from tests.support.deployed.probes import PROBE_KINDS, Probe, await_probe, probe_of
from tests.support.deployed.sidecar import (
    GRPC_PORT,
    HTTP_PORT,
    INTERNAL_GRPC_PORT,
    SidecarSpec,
    StandaloneResources,
    app_container_env,
    daprd_env,
    pod_ports,
    sidecar_spec,
)
from tests.support.ports import LOOPBACK, free_ports
from tests.support.process import ManagedProcess

PODNET_DIR = Path(__file__).resolve().parent / "podnet"
PORTS_ENV = "DEPLOYED_TIER_POD_PORTS"
HOST_VENV = REPO_ROOT / ".venv"


@dataclass(frozen=True)
class Launch:
    """What the runtime executes for one container, translated to this host."""

    container: str
    argv: tuple[str, ...]  # exactly as the kubelet forms it (image paths)
    executable: str  # argv[0] found on the container's PATH, on this host
    env: dict[str, str]
    cwd: Path


class ContainerProcess(ManagedProcess):
    """A container's process: its own argv[0], only its own environment."""

    def __init__(self, launch: Launch, log_path: Path) -> None:
        self.launch = launch
        self.log_path = log_path
        self.started = 0.0

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                list(self.launch.argv),
                executable=self.launch.executable,
                env=self.launch.env,
                cwd=self.launch.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started = time.monotonic()

    def wait(self, timeout: float) -> int:
        assert self._process is not None, "not started"
        return self._process.wait(timeout=timeout)


@dataclass
class Pod:
    """A workload's pod on this host: container processes, an optional daprd, a port map."""

    workload: Workload
    directory: Path
    ports: dict[int, int]  # pod port -> host port on loopback
    sidecar: Daprd | None
    containers: dict[str, ContainerProcess] = field(default_factory=dict)
    probes: dict[str, list[Probe]] = field(default_factory=dict)

    def url(self, pod_port: int) -> str:
        return f"http://{LOOPBACK}:{self.ports[pod_port]}"

    def start_containers(self) -> None:
        for process in self.containers.values():
            process.start()

    def start_sidecar(self) -> None:
        """After the containers, as the kubelet starts them side by side; returns once
        daprd has loaded its components (it connects to the app on its own)."""
        if self.sidecar is not None:
            self.sidecar.start()

    def await_probes(self) -> dict[str, float]:
        """Every probe of every container must pass within its own budget; startup first,
        since the kubelet holds readiness and liveness until it passes."""
        seconds: dict[str, float] = {}
        for name, process in self.containers.items():
            startup_done = process.started
            for probe in self.probes[name]:
                since = process.started if probe.kind == "startupProbe" else startup_done
                url = f"{self.url(probe.port)}{probe.path}"
                try:
                    took = await_probe(probe, url, started=since, alive=_alive(process))
                except AssertionError as failure:
                    # The pod's own log says why (a port taken, a crash), not the stack's.
                    raise AssertionError(
                        f"{self.workload}/{name}: {failure}\n{self.log_tails()}"
                    ) from failure
                seconds[f"{name}.{probe.kind}"] = took
                if probe.kind == "startupProbe":
                    startup_done = since + took
        return seconds

    def stop(self) -> None:
        if self.sidecar is not None:
            self.sidecar.close()
        for process in self.containers.values():
            process.stop()

    def log_tails(self, lines: int = 30) -> str:
        parts = [
            f"--- {self.workload}/{name} ({p.log_path}) ---\n{p.log_tail(lines)}"
            for name, p in self.containers.items()
        ]
        if self.sidecar is not None:
            parts.append(f"--- {self.workload}/daprd ---\n{self.sidecar.log_tail(lines)}")
        return "\n".join(parts)


def _alive(process: ContainerProcess) -> Callable[[], bool]:
    return lambda: process.running


def translate_container(
    container: Manifest,
    workload: Workload,
    *,
    image: ImageConfig,
    resolver: Resolver,
    mounts: Mapping[str, Path],
    injected: Mapping[str, str],
    harness_env: Mapping[str, str],
) -> Launch:
    """argv, env and working directory of one container, with image paths mapped here."""
    paths = PathMap.of({IMAGE_VENV: HOST_VENV, **mounts})
    image_env = {k: paths.value(v) for k, v in image.env.items()}
    defined = container_environment(
        container, workload, image_env={}, resolver=resolver, pod_name=workload.name
    )
    env = add_absent({**image_env, **defined}, injected)
    argv = kubelet_argv(container, image, defined)
    executable = resolve_executable(argv[0], env, paths)
    python_path = ":".join(p for p in (str(PODNET_DIR), env.get("PYTHONPATH", "")) if p)
    cwd = Path(paths.path(container.get("workingDir") or image.workdir))
    return Launch(
        container=container["name"],
        argv=tuple(argv),
        executable=executable,
        env={**env, **harness_env, "PYTHONPATH": python_path},
        cwd=cwd,
    )


def build_pod(
    workload: Workload,
    *,
    image: ImageConfig,
    resolver: Resolver,
    directory: Path,
    resources: StandaloneResources | None,
    daprd_binary: Path | None = None,
) -> Pod:
    """Everything decided before anything starts: mounts, ports, each container's launch.

    `daprd_binary` defaults to the provisioned one; nothing runs until the pod starts.
    """
    directory.mkdir(parents=True, exist_ok=True)
    spec: SidecarSpec | None = sidecar_spec(workload.annotations, workload.name)
    probes = {
        c["name"]: [p for kind in PROBE_KINDS if (p := probe_of(kind, c)) is not None]
        for c in workload.containers
    }
    wanted = set(container_ports(workload.containers))
    wanted |= {p.port for found in probes.values() for p in found}
    ports: dict[int, int] = {}
    sidecar = None
    if spec is not None:
        assert resources is not None, f"{workload} has a sidecar but no Dapr resources"
        if spec.app_port is not None:
            wanted.add(spec.app_port)
        sidecar_ports = pod_ports(spec)
        wanted -= set(sidecar_ports)
    ports.update(zip(sorted(wanted), free_ports(len(wanted)), strict=True))
    if spec is not None:
        assert resources is not None
        sidecar = _daprd(spec, workload, ports, resolver, resources, directory, daprd_binary)
        ports.update(
            {
                HTTP_PORT: sidecar.http_port,
                GRPC_PORT: sidecar.grpc_port,
                INTERNAL_GRPC_PORT: sidecar.internal_grpc_port,
                spec.metrics_port: sidecar.metrics_port,
            }
        )
    volumes = {
        v["name"]: directory / "volumes" / v["name"] for v in workload.pod.get("volumes", [])
    }
    for path in volumes.values():
        path.mkdir(parents=True, exist_ok=True)
    pod = Pod(workload, directory, ports, sidecar, probes=probes)
    harness = {PORTS_ENV: json.dumps(ports)}
    for container in workload.containers:
        mounts = {
            m["mountPath"]: volumes[m["name"]]
            for m in container.get("volumeMounts", [])
            if m["mountPath"] in writable_mounts(container, workload.pod)
        }
        launch = translate_container(
            container,
            workload,
            image=image,
            resolver=resolver,
            mounts=mounts,
            injected=app_container_env(spec) if spec is not None else {},
            harness_env=harness,
        )
        log = directory / f"{container['name']}.log"
        pod.containers[container["name"]] = ContainerProcess(launch, log)
    return pod


def _daprd(
    spec: SidecarSpec,
    workload: Workload,
    ports: Mapping[int, int],
    resolver: Resolver,
    resources: StandaloneResources,
    directory: Path,
    binary: Path | None,
) -> Daprd:
    extra = ["--log-as-json"] if spec.log_as_json else []
    sidecar = Daprd(
        spec.app_id,
        app_port=ports[spec.app_port] if spec.app_port is not None else None,
        resources_dir=resources.resources_dir,
        config=resources.config(spec.config),
        app_protocol=spec.app_protocol,
        log_level=spec.log_level,
        graceful_shutdown_seconds=spec.graceful_shutdown_seconds or 5,
        extra_args=extra,
        env=daprd_env(spec, workload.namespace, resolver),
        binary=binary,
    )
    sidecar.log_path = directory / "daprd.log"
    return sidecar
