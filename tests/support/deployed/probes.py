"""A container's probes as the kubelet runs them, held to the same budget."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.support.deployed.container import ports_by_name
from tests.support.deployed.objects import Manifest, ManifestError

PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")
# The kubelet's defaults for fields a probe leaves out.
DEFAULT_PERIOD = 10
DEFAULT_TIMEOUT = 1
DEFAULT_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class Probe:
    kind: str
    path: str
    port: int  # the container port, before any mapping to this host
    initial_delay: float
    period: float
    timeout: float
    failure_threshold: int

    @property
    def budget(self) -> float:
        """Seconds from the probe's start to the kubelet's verdict after the last failure."""
        return self.initial_delay + self.period * self.failure_threshold


def probe_of(kind: str, container: Manifest) -> Probe | None:
    """The container's `kind` probe, its port resolved by name or number; None when absent."""
    spec = container.get(kind)
    if spec is None:
        return None
    if "httpGet" not in spec:
        raise ManifestError(f"{container['name']}.{kind}: only httpGet probes are translated")
    get = spec["httpGet"]
    if get.get("scheme", "HTTP") != "HTTP":
        raise ManifestError(f"{container['name']}.{kind}: scheme {get['scheme']} not translated")
    port = get["port"]
    if isinstance(port, str) and not port.isdigit():
        named = ports_by_name(container)
        if port not in named:
            raise ManifestError(
                f"{container['name']}.{kind} uses port {port!r}, which the container does "
                f"not name (it names {sorted(named)})"
            )
        port = named[port]
    return Probe(
        kind=kind,
        path=str(get.get("path", "/")),
        port=int(port),
        initial_delay=float(spec.get("initialDelaySeconds", 0)),
        period=float(spec.get("periodSeconds", DEFAULT_PERIOD)),
        timeout=float(spec.get("timeoutSeconds", DEFAULT_TIMEOUT)),
        failure_threshold=int(spec.get("failureThreshold", DEFAULT_FAILURE_THRESHOLD)),
    )


def probe_once(client: httpx.Client, url: str, timeout: float) -> str | None:
    """None when the kubelet would count a success (2xx or 3xx in time), else why not."""
    try:
        status = client.get(url, timeout=timeout, follow_redirects=False).status_code
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if 200 <= status < 400 else f"HTTP {status}"


def await_probe(
    probe: Probe,
    url: str,
    *,
    started: float,
    alive: Callable[[], bool],
    every: float = 0.25,
) -> float:
    """Wait until `probe` passes; fail once its budget (counted from `started`) is spent.

    Polls more often than the probe's period, so the verdict is the kubelet's at worst
    one period later; returns the seconds from `started` to the first success.
    """
    deadline = started + probe.budget
    first = started + probe.initial_delay
    if first > time.monotonic():
        time.sleep(first - time.monotonic())
    # A fresh connection per attempt, as the kubelet's prober makes.
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        return _poll(probe, url, client, started, deadline, alive, every)


def _poll(
    probe: Probe,
    url: str,
    client: httpx.Client,
    started: float,
    deadline: float,
    alive: Callable[[], bool],
    every: float,
) -> float:
    last = "never probed"
    while True:
        if not alive():
            raise AssertionError(f"{probe.kind} {url}: the process exited ({last})")
        failure = probe_once(client, url, probe.timeout)
        now = time.monotonic()
        if failure is None:
            return now - started
        last = failure
        if now >= deadline:
            raise AssertionError(
                f"{probe.kind} {url} did not pass within its budget of {probe.budget:.0f}s "
                f"(initialDelay + period x failureThreshold): {last}"
            )
        time.sleep(every)
