"""Login flood: one client floods logins for made-up emails while another tenant works.

Both reach the API as if through the edge (a trusted proxy on loopback that sets
X-Forwarded-For), so the throttles see two client addresses. The victim's p95 is
measured alone, then again while the flood runs, and both are printed with their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.db import make_engine, run_migrations
from bench.api_bench import database
from bench.harness import TASKSTREAM, Figures, drive, server, table
from tests.support.accounts import PASSWORD, register_user

VICTIM_ADDRESS = "198.51.100.7"
ABUSER_ADDRESS = "203.0.113.66"
# Every tenth victim request is a fresh login; the rest use the API.
LOGIN_EVERY = 10
STEADY_STATE_TIMEOUT = 300.0


def _victim_call(email: str) -> Any:
    def call(client: httpx.AsyncClient, i: int) -> Any:
        if i % LOGIN_EVERY == 0:
            return client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        if i % 2:
            return client.post("/api/v1/tasks", json={"title": f"victim {i}"})
        return client.get("/api/v1/tasks", params={"page_size": 20})

    return call


async def _flood(
    base: str, concurrency: int, limit: int, throttled: asyncio.Event, stop: asyncio.Event
) -> Counter[int]:
    """Made-up logins from one address until `stop` is set or `limit` requests were sent."""
    statuses: Counter[int] = Counter()
    sent = iter(range(limit))
    headers = {"X-Forwarded-For": ABUSER_ADDRESS}

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            for i in sent:
                if stop.is_set():
                    return
                form = {"username": f"nobody-{i}@example.com", "password": "guess-guess"}
                try:
                    response = await client.post("/api/v1/auth/token", data=form)
                except httpx.HTTPError:
                    statuses[0] += 1
                    continue
                statuses[response.status_code] += 1
                if response.status_code == 429:
                    throttled.set()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def _measure(
    base: str, email: str, headers: dict[str, str], requests: int, abusers: int
) -> tuple[Figures, Figures, Counter[int]]:
    def victim(name: str) -> Any:
        return drive(
            name,
            _victim_call(email),
            base_url=base,
            concurrency=2,
            total=requests,
            headers=headers,
        )

    quiet = await victim("victim quiet")
    throttled, stop = asyncio.Event(), asyncio.Event()
    flood = asyncio.create_task(_flood(base, abusers, requests * 50, throttled, stop))
    # Measure the flood's steady state: its first burst of guesses is allowed by design.
    await asyncio.wait_for(throttled.wait(), timeout=STEADY_STATE_TIMEOUT)
    abused = await victim("victim during flood")
    stop.set()
    return quiet, abused, await flood


def run(kind: str, requests: int, abusers: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        engine = make_engine(url)
        run_migrations(engine)
        engine.dispose()
        env = {
            "TASKSTREAM_ENVIRONMENT": "dev",
            "TASKSTREAM_DATABASE_URL": url,
            "TASKSTREAM_LOG_LEVEL": "WARNING",
            # The load driver plays the edge: it is the one trusted proxy.
            "TASKSTREAM_TRUSTED_PROXIES": '["127.0.0.1/32"]',
        }
        with server([TASKSTREAM, "api"], env, Path(tmp) / "api.log") as base:
            victim_headers = {"X-Forwarded-For": VICTIM_ADDRESS}
            with httpx.Client(base_url=base, headers=victim_headers) as client:
                user = register_user(client, f"victim-{uuid.uuid4().hex[:8]}@example.com")
            headers = {**user.headers, **victim_headers}
            quiet, abused, statuses = asyncio.run(
                _measure(base, user.email, headers, requests, abusers)
            )
    ratio = abused.p95_ms / quiet.p95_ms if quiet.p95_ms else None
    return {
        "backend": kind,
        "victim": [quiet.as_dict(), abused.as_dict()],
        "abuser_statuses": {str(code): count for code, count in sorted(statuses.items())},
        "p95_ratio": round(ratio, 2) if ratio is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--requests", type=int, default=300, help="victim requests per phase")
    parser.add_argument("--abusers", type=int, default=8, help="concurrent flooding connections")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = run(args.backend, args.requests, args.abusers)
    rows = [
        {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}
        for r in result["victim"]
    ]
    print(table(rows, ["name", "requests", "errors", "throughput", "p50_ms", "p95_ms", "p99_ms"]))
    print(f"\nabuser responses by status: {result['abuser_statuses']}")
    print(f"victim p95 during the flood / quiet: {result['p95_ratio']} (target: within 2x)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
