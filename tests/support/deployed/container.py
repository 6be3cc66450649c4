"""A container's argv, environment and working directory, translated to a process on this host.

The kubelet's rules: `command` replaces the image's ENTRYPOINT and drops its CMD; `args` alone
replaces CMD; $(VAR) in either expands from the container's own env. Paths inside the image
are mapped to this host: the image's virtualenv to the repository's, each emptyDir mount to a
directory of the pod's own.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.deployed.environment import expand
from tests.support.deployed.image import ImageConfig
from tests.support.deployed.objects import Manifest, ManifestError

# Where the image keeps what the Dockerfile's builder stage installed (UV_PROJECT_ENVIRONMENT).
IMAGE_VENV = "/opt/venv"


def kubelet_argv(container: Manifest, image: ImageConfig, defined: Mapping[str, str]) -> list[str]:
    """The argv the runtime executes, with paths as they are inside the image."""
    command = container.get("command") or None
    args = container.get("args")
    if command is not None:
        argv = [*command, *(args or [])]
    elif args is not None:
        argv = [*image.entrypoint, *args]
    else:
        argv = [*image.entrypoint, *image.cmd]
    if not argv:
        raise ManifestError(f"container {container.get('name')} has nothing to run")
    return [expand(str(part), defined) for part in argv]


@dataclass(frozen=True)
class PathMap:
    """Image paths -> host paths, longest prefix first."""

    prefixes: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, mapping: Mapping[str, Path | str]) -> PathMap:
        ordered = sorted(mapping.items(), key=lambda item: len(item[0]), reverse=True)
        return cls(tuple((prefix.rstrip("/") or "/", str(host)) for prefix, host in ordered))

    def path(self, value: str) -> str:
        for prefix, host in self.prefixes:
            if value == prefix or value.startswith(f"{prefix}/"):
                return host + value[len(prefix) :]
        return value

    def value(self, value: str) -> str:
        """A variable's value, mapping every absolute path in a colon-separated list."""
        parts = value.split(":")
        return ":".join(self.path(part) if part.startswith("/") else part for part in parts)

    def mapped(self, value: str) -> bool:
        return self.path(value) != value


def writable_mounts(container: Manifest, pod: Manifest) -> list[str]:
    """Mount paths of the container backed by emptyDir volumes (the only writable places
    under a read-only root filesystem)."""
    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    return [
        m["mountPath"]
        for m in container.get("volumeMounts", [])
        if m["name"] in empty_dirs and not m.get("readOnly", False)
    ]


def resolve_executable(argv0: str, env: Mapping[str, str], paths: PathMap) -> str:
    """argv[0] as the runtime finds it: a path is taken as is, a bare name is looked up on PATH."""
    if "/" in argv0:
        found: str | None = paths.path(argv0)
    else:
        found = shutil.which(argv0, path=env.get("PATH", ""))
    if found is None or not Path(found).is_file():
        raise ManifestError(f"executable {argv0!r} not found (PATH={env.get('PATH', '')})")
    return found


def ports_by_name(container: Manifest) -> dict[str, int]:
    return {p["name"]: int(p["containerPort"]) for p in container.get("ports", []) if "name" in p}


def container_ports(containers: Sequence[Manifest]) -> list[int]:
    return [int(p["containerPort"]) for c in containers for p in c.get("ports", [])]
