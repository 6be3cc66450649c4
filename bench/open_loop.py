"""An open-loop load generator: requests leave at a fixed rate, whatever the responses do.

A closed loop (N clients, each waiting for its answer before the next request) slows down
with the server and so hides its queueing: the classic coordinated omission. Here request
i is scheduled at start + i / rate and its latency is measured from that scheduled
instant, not from when it actually left, so a server (or a generator) that falls behind
shows up in the percentiles. The run is bounded: nothing is scheduled after `seconds`,
and whatever is still in flight `grace` seconds later is abandoned and counted as an error
with the latency it had reached.

Reusable against any taskstream process (`taskstream api`, `taskstream run`):

    result = asyncio.run(run_open_loop(base, rate=200, seconds=20, mix=taskstream_mix(ids),
                                       headers=auth_headers))

`search_rate` steps the rate up until the targets are missed, then bisects between the
last rate that held and the first that did not.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.harness import percentiles

# Target 2 of issue 18: p95 and p99 of the mixed load at the offered rate.
P95_TARGET_MS = 25.0
P99_TARGET_MS = 50.0

Call = Callable[[httpx.AsyncClient, random.Random], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Op:
    """One kind of request in the mix and its share (weights need not add up to 1)."""

    name: str
    weight: float
    call: Call


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    scheduled: int
    completed: int
    errors: int
    late_starts: int  # requests the generator itself sent more than 5 ms after schedule
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    by_op: dict[str, dict[str, float]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)  # status code or error, counted

    @property
    def achieved_rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def holds(self, p95_ms: float = P95_TARGET_MS, p99_ms: float = P99_TARGET_MS) -> bool:
        """Both percentiles within target and no request failed or was abandoned."""
        return (
            self.completed > 0
            and self.errors == 0
            and self.p95_ms <= p95_ms
            and self.p99_ms <= p99_ms
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "seconds": round(self.seconds, 2),
            "scheduled": self.scheduled,
            "completed": self.completed,
            "errors": self.errors,
            "late_starts": self.late_starts,
            "achieved_rate": round(self.achieved_rate, 1),
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "max_ms": round(self.max_ms, 1),
            "by_op": self.by_op,
            "outcomes": self.outcomes,
        }


def taskstream_mix(task_ids: Sequence[str], *, prefix: str = "/api/v1") -> list[Op]:
    """Issue 18's mix against taskstream's task API: 60 % get, 20 % list/search (half each),
    20 % create/update (half each). `task_ids` are existing tasks of the authenticated user."""
    words = ("invoice", "report", "dentist plumber", "meeting", "budget")

    def get(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        return client.get(f"{prefix}/tasks/{rng.choice(task_ids)}")

    def list_(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        return client.get(
            f"{prefix}/tasks",
            params={"status": "todo", "priority": "high", "sort": "due_at", "order": "asc"},
        )

    def search(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        return client.get(f"{prefix}/tasks", params={"q": rng.choice(words)})

    def create(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        title = f"open loop {rng.randrange(1_000_000)}"
        return client.post(
            f"{prefix}/tasks", json={"title": title, "tags": ["bench"], "priority": "high"}
        )

    def update(client: httpx.AsyncClient, rng: random.Random) -> Awaitable[httpx.Response]:
        return client.patch(
            f"{prefix}/tasks/{rng.choice(task_ids)}",
            json={"description": f"touched {rng.randrange(1_000_000)}"},
        )

    return [
        Op("get", 60, get),
        Op("list", 10, list_),
        Op("search", 10, search),
        Op("create", 10, create),
        Op("update", 10, update),
    ]


async def run_open_loop(
    base_url: str,
    *,
    rate: float,
    seconds: float,
    mix: Sequence[Op],
    headers: dict[str, str] | None = None,
    connections: int = 64,
    grace: float = 10.0,
    request_timeout: float = 10.0,
    seed: int = 18,
    transport: httpx.AsyncBaseTransport | None = None,
) -> OpenLoopResult:
    """Offer `rate` requests per second for `seconds` to `base_url`, drawn from `mix`."""
    if rate <= 0 or seconds <= 0:
        raise ValueError("rate and seconds must be positive")
    rng = random.Random(seed)
    weights = [op.weight for op in mix]
    total = int(rate * seconds)
    latencies: dict[str, list[float]] = {op.name: [] for op in mix}
    errors = 0
    late = 0
    outcomes: Counter[str] = Counter()
    # `connections` workers, each with one keep-alive connection, take the requests off a
    # queue as they come due. Waiting in the queue counts in the latency. (Leaving the
    # queueing to one client's connection pool costs that pool time quadratic in the
    # backlog: under overload the generator, not the server, fell minutes behind.)
    due: asyncio.Queue[tuple[Op, float]] = asyncio.Queue()
    waiting: dict[int, float] = {}  # worker -> scheduled time of the request it is sending
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            limits=limits,
            timeout=request_timeout,
            transport=transport,
        )
        for _ in range(connections)
    ]

    async def worker(number: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            op, scheduled = await due.get()
            waiting[number] = scheduled
            try:
                response = await op.call(client, rng)
                failed = response.status_code >= 400
                outcomes[f"{op.name} {response.status_code}"] += 1
            except httpx.HTTPError as exc:
                failed = True
                outcomes[f"{op.name} {type(exc).__name__}"] += 1
            del waiting[number]
            latencies[op.name].append(time.perf_counter() - scheduled)
            errors += failed
            due.task_done()

    workers = [asyncio.create_task(worker(n, c)) for n, c in enumerate(clients)]
    started = time.perf_counter()
    try:
        for i in range(total):
            scheduled = started + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                late += 1
            due.put_nowait((rng.choices(mix, weights)[0], scheduled))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(due.join(), timeout=grace)
        # Abandoned requests (queued or in flight) count as errors with the latency
        # they had reached.
        now = time.perf_counter()
        overdue = [now - scheduled for scheduled in waiting.values()]
        while not due.empty():
            overdue.append(now - due.get_nowait()[1])
        elapsed = now - started
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for client in clients:
            await client.aclose()
    abandoned = overdue
    samples = [s for per_op in latencies.values() for s in per_op] + overdue
    p50, p95, p99 = percentiles(samples)
    by_op = {}
    for name, per_op in latencies.items():
        if per_op:
            q50, q95, q99 = percentiles(per_op)
            by_op[name] = {
                "n": len(per_op),
                "p50_ms": round(q50, 1),
                "p95_ms": round(q95, 1),
                "p99_ms": round(q99, 1),
            }
    return OpenLoopResult(
        rate=rate,
        seconds=elapsed,
        scheduled=total,
        completed=total - len(abandoned),
        errors=errors + len(abandoned),
        late_starts=late,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        max_ms=max(samples) * 1000 if samples else 0.0,
        by_op=by_op,
        outcomes=dict(outcomes),
    )


async def search_rate(
    base_url: str,
    *,
    mix: Sequence[Op],
    headers: dict[str, str] | None = None,
    seconds: float = 10.0,
    start: float = 50.0,
    step: float = 1.5,
    ceiling: float = 2000.0,
    bisections: int = 2,
    p95_ms: float = P95_TARGET_MS,
    p99_ms: float = P99_TARGET_MS,
    settle: float = 2.0,
) -> tuple[float | None, list[OpenLoopResult]]:
    """The highest offered rate (of those tried) that holds the targets, and every trial.

    Rates grow geometrically from `start` by `step` until one misses (or `ceiling`), then
    `bisections` halvings narrow the gap. `None` when even `start` misses.
    """
    trials: list[OpenLoopResult] = []

    async def trial(rate: float) -> bool:
        result = await run_open_loop(base_url, rate=rate, seconds=seconds, mix=mix, headers=headers)
        trials.append(result)
        await asyncio.sleep(settle)  # let a backlog drain before the next trial
        return result.holds(p95_ms, p99_ms)

    held: float | None = None
    missed: float | None = None
    rate = start
    while rate <= ceiling:
        if await trial(rate):
            held = rate
            rate = round(rate * step)
        else:
            missed = rate
            break
    if held is not None and missed is not None:
        for _ in range(bisections):
            middle = round((held + missed) / 2)
            if middle in (held, missed):
                break
            if await trial(middle):
                held = middle
            else:
                missed = middle
    return held, trials
