"""Shared benchmark plumbing: servers on loopback, a bounded asyncio load driver, statistics."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from app.quotas import Quotas
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
TASKSTREAM = str(Path(sys.executable).parent / "taskstream")
# Issue 13: an abusive tenant may slow another's p95 by at most this factor.
NEIGHBOUR_TARGET = 2.0

T = TypeVar("T")


@dataclass
class Figures:
    name: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int | str]:
        return {**asdict(self), "throughput": round(self.throughput, 1)}


def server_env(url: str, **extra: str) -> dict[str, str]:
    """A benchmarked taskstream process's settings: the test environment (prod refuses the
    placeholder signing key), quiet logs, and login throttling out of the load's way."""
    return {
        "TASKSTREAM_DATABASE_URL": url,
        "TASKSTREAM_ENVIRONMENT": "test",
        "TASKSTREAM_LOG_LEVEL": "WARNING",
        "TASKSTREAM_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
        **extra,
    }


# For benchmarks that create tasks in-process, as one user, beyond the shipped quota.
ROOMY_QUOTAS = Quotas(tasks_per_user=10**9)


def quota_for(seeded: int, created: int) -> dict[str, str]:
    """Settings that keep the per-user task quota above what a benchmark stores, so its
    creates measure creating rather than the quota's refusal (the check itself still runs)."""
    return {"TASKSTREAM_QUOTA_TASKS_PER_USER": str(seeded + created + 1)}


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    if len(samples) < 2:
        value = samples[0] * 1000 if samples else 0.0
        return value, value, value
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def figures(name: str, latencies: list[float], errors: int, seconds: float) -> Figures:
    p50, p95, p99 = percentiles(latencies)
    return Figures(name, len(latencies), errors, seconds, p50, p95, p99)


async def drive(
    name: str,
    call: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    *,
    base_url: str,
    concurrency: int,
    total: int,
    headers: dict[str, str] | None = None,
    seconds: float | None = None,
) -> Figures:
    """Run `total` calls with `concurrency` workers; every call is timed end to end.

    With `seconds`, no call starts after that long: a phase ends even when calls are slow.
    """
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    # One client (one keep-alive connection) per simulated user: a single client's pool
    # of 100 connections costs the driver more CPU per request than the servers spend,
    # and served the users unevenly.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30)
        for _ in range(concurrency)
    ]

    until = time.perf_counter() + seconds if seconds is not None else float("inf")

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        async with client:
            for i in counter:
                started = time.perf_counter()
                if started > until:
                    return
                try:
                    response = await call(client, i)
                    failed = response.status_code >= 400
                except httpx.HTTPError:
                    failed = True  # a timeout or dropped connection is a failed request
                latencies.append(time.perf_counter() - started)
                errors += failed

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    return figures(name, latencies, errors, time.perf_counter() - started)


async def quiet_then_abused(
    victim: Callable[[str], Awaitable[Figures]],
    abuse: Callable[[asyncio.Event], Coroutine[Any, Any, T]],
    steady: Callable[[], Awaitable[object]],
    *,
    steady_timeout: float = 300.0,
) -> tuple[Figures, Figures, T]:
    """The victim measured alone, then again once the abuse is under way (`steady` returned);
    the abuse is told to stop after that and its own result returned."""
    quiet = await victim("victim quiet")
    stop = asyncio.Event()
    abusing = asyncio.create_task(abuse(stop))
    try:
        await asyncio.wait_for(steady(), timeout=steady_timeout)
        abused = await victim("victim abused")
    finally:
        stop.set()
    return quiet, abused, await abusing


def comparison(quiet: Figures, abused: Figures) -> dict[str, Any]:
    """Both phases, the p95 ratio and whether it meets the target."""
    ratio = abused.p95_ms / quiet.p95_ms if quiet.p95_ms else None
    within = (
        ratio is not None and ratio <= NEIGHBOUR_TARGET and abused.requests and not abused.errors
    )
    return {
        "victim": [quiet.as_dict(), abused.as_dict()],
        "p95_ratio": round(ratio, 2) if ratio is not None else None,
        "verdict": "within target" if within else "MISSES target",
    }


def print_comparison(result: dict[str, Any]) -> None:
    rows = [
        {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}
        for r in result["victim"]
    ]
    print(table(rows, ["name", "requests", "errors", "throughput", "p50_ms", "p95_ms", "p99_ms"]))
    print(
        f"\nvictim p95 abused / quiet: {result['p95_ratio']} "
        f"(target: within {NEIGHBOUR_TARGET:g}x, no errors): {result['verdict']}"
    )


def neighbour_result(kind: str, quiet: Figures, abused: Figures, **extra: object) -> dict[str, Any]:
    """One noisy-neighbour scenario's figures: the backend, the comparison, its own extras."""
    return {"backend": kind, **comparison(quiet, abused), **extra}


def report_neighbour(result: dict[str, Any], note: str, json_path: Path | None) -> None:
    """Prints the comparison and the scenario's note on the abuser; writes JSON if asked."""
    print_comparison(result)
    print(note)
    if json_path:
        json_path.write_text(json.dumps(result, indent=2))


@contextmanager
def server(
    argv: list[str], env: dict[str, str], log: Path, *, startup_seconds: float = 180.0
) -> Iterator[str]:
    """Start an HTTP server process on a free loopback port; yield its base URL."""
    port = free_port()
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    with log.open("w") as output:
        process = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(port)],
            env=full_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def table(rows: list[dict[str, object]], columns: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines.append("  ".join("-" * widths[c] for c in columns))
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)
