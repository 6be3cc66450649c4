"""Login flood: one client floods logins for made-up emails while another tenant works.

Both reach the API as if through the edge (a trusted proxy on loopback that sets
X-Forwarded-For), so the throttles see two client addresses. The victim's p95 is
measured alone, then again while the flood runs, and both are printed with their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from app.db import make_engine, run_migrations
from bench.api_bench import database
from bench.harness import (
    TASKSTREAM,
    Figures,
    drive,
    neighbour_result,
    quiet_then_abused,
    report_neighbour,
    server,
)
from tests.support.accounts import PASSWORD, register_user

VICTIM_ADDRESS = "198.51.100.7"
ABUSER_ADDRESS = "203.0.113.66"
# Every tenth victim request is a fresh login; the rest use the API.
LOGIN_EVERY = 10


def victim_calls(email: str | None) -> Any:
    """A tenant's everyday traffic: listing and creating tasks, and logging in now and then
    when `email` is given."""

    def call(client: httpx.AsyncClient, i: int) -> Any:
        if email is not None and i % LOGIN_EVERY == 0:
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
            victim_calls(email),
            base_url=base,
            concurrency=2,
            total=requests,
            headers=headers,
        )

    throttled = asyncio.Event()
    # Measure the flood's steady state: its first burst of guesses is allowed by design.
    return await quiet_then_abused(
        victim,
        lambda stop: _flood(base, abusers, requests * 50, throttled, stop),
        throttled.wait,
    )


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
    return neighbour_result(
        kind,
        quiet,
        abused,
        abuser_statuses={str(code): count for code, count in sorted(statuses.items())},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--requests", type=int, default=300, help="victim requests per phase")
    parser.add_argument("--abusers", type=int, default=8, help="concurrent flooding connections")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    result = run(args.backend, args.requests, args.abusers)
    report_neighbour(result, f"abuser responses by status: {result['abuser_statuses']}", args.json)


if __name__ == "__main__":
    main()
