"""What a local process cannot reproduce, checked on the manifest and image instead.

A process here runs as the tester's user on a writable filesystem, so the read-only root
filesystem and the non-root identity are held to the kubelet's rules statically: every
place the process is told to write lies on a writable mount, and the user it would run as
is numeric and not root (the kubelet refuses runAsNonRoot with a named user it cannot check).
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.support.deployed.container import writable_mounts
from tests.support.deployed.image import ImageConfig
from tests.support.deployed.objects import Manifest, Workload

# Variables that tell a process where to write: home (caches, config) and temp files.
WRITE_LOCATIONS = ("HOME", "TMPDIR")


def _security(container: Manifest, pod: Manifest, key: str) -> object:
    """A container's securityContext setting, falling back to the pod's."""
    own = (container.get("securityContext") or {}).get(key)
    return own if own is not None else (pod.get("securityContext") or {}).get(key)


def _under(path: str, mounts: list[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


def filesystem_findings(
    workload: Workload, container: Manifest, image: ImageConfig, env: Mapping[str, str]
) -> list[str]:
    """Where a read-only root filesystem would break the process (env in image paths)."""
    if not _security(container, workload.pod, "readOnlyRootFilesystem"):
        return []
    mounts = writable_mounts(container, workload.pod)
    where = f"{workload}/{container['name']}"
    findings = [
        f"{where}: {name}={env[name]} is on the read-only root filesystem (mounts: {mounts})"
        for name in WRITE_LOCATIONS
        if name in env and not _under(env[name], mounts)
    ]
    missing = [name for name in WRITE_LOCATIONS if name not in env]
    if missing:
        findings.append(f"{where}: {missing} unset, so the process picks its own write locations")
    workdir = container.get("workingDir") or image.workdir
    if not _under(workdir, mounts):
        findings.append(f"{where}: working directory {workdir} is not writable")
    return findings


def identity_findings(workload: Workload, container: Manifest, image: ImageConfig) -> list[str]:
    """Whether the kubelet would start the container under runAsNonRoot."""
    if not _security(container, workload.pod, "runAsNonRoot"):
        return []
    where = f"{workload}/{container['name']}"
    uid = _security(container, workload.pod, "runAsUser")
    if uid is None:
        user = image.user.partition(":")[0]
        if not user.isdigit():
            return [f"{where}: image USER {image.user!r} is not numeric; set runAsUser"]
        uid = int(user)
    return [f"{where}: runs as uid 0 under runAsNonRoot"] if int(str(uid)) == 0 else []
