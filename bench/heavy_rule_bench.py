"""Heavy rule: one tenant keeps creating the costliest recurring series while another works.

The system runs embedded (API, relay, notifier and recurrer in one process, as `taskstream
run`), so the abuser's series cost the API and the recurrer both. The victim's p95 on plain
task reads and writes is measured alone, then again while the series keep coming.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
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
from bench.login_flood_bench import victim_calls
from tests.support.accounts import register_user

EVERY_SECOND = ";".join(
    (
        "FREQ=DAILY",
        "BYHOUR=" + ",".join(map(str, range(24))),
        "BYMINUTE=" + ",".join(map(str, range(60))),
        "BYSECOND=" + ",".join(map(str, range(60))),
    )
)


def heavy_rules(now: datetime) -> list[tuple[str, datetime]]:
    """Rules that cost the most to accept, or that must be refused, with their starts."""
    return [
        ("FREQ=HOURLY", datetime(1, 1, 1)),  # stepping through two millennia of hours
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", now),  # never occurs: dateutil searches on
        (EVERY_SECOND, now),  # per-second occurrences disguised as a daily rule
        ("FREQ=HOURLY;BYMINUTE=0,15,30,45", now - timedelta(days=365)),
        ("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11", now),
    ]


async def _create_series(
    base: str, headers: dict[str, str], concurrency: int, limit: int, stop: asyncio.Event
) -> Counter[int]:
    """Heavy series, round the rule list, until `stop` is set or `limit` requests were sent."""
    statuses: Counter[int] = Counter()
    rules = heavy_rules(datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    sent = iter(range(limit))

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            for i in sent:
                if stop.is_set():
                    return
                rrule, start = rules[i % len(rules)]
                body = {"title": f"heavy {i}", "rrule": rrule, "start": start.isoformat()}
                try:
                    response = await client.post("/api/v1/recurring-tasks", json=body)
                except httpx.HTTPError:
                    statuses[0] += 1  # timed out: still heavy after 30 s
                    continue
                statuses[response.status_code] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def _measure(
    base: str,
    victim_headers: dict[str, str],
    abuser_headers: dict[str, str],
    requests: int,
    abusers: int,
    phase_seconds: float,
) -> tuple[Figures, Figures, Counter[int]]:
    def victim(name: str) -> Any:
        return drive(
            name,
            victim_calls(None),
            base_url=base,
            concurrency=2,
            total=requests,
            headers=victim_headers,
            seconds=phase_seconds,
        )

    return await quiet_then_abused(
        victim,
        lambda stop: _create_series(base, abuser_headers, abusers, requests * 10, stop),
        # The first heavy requests are in the server once the abuser has had a second.
        lambda: asyncio.sleep(1.0),
    )


def run(kind: str, requests: int, abusers: int, phase_seconds: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        engine = make_engine(url)
        run_migrations(engine)
        engine.dispose()
        env = {
            "TASKSTREAM_ENVIRONMENT": "dev",
            "TASKSTREAM_EVENT_BUS": "embedded",
            "TASKSTREAM_DATABASE_URL": url,
            "TASKSTREAM_LOG_LEVEL": "WARNING",
        }
        with server([TASKSTREAM, "run"], env, Path(tmp) / "run.log") as base:
            with httpx.Client(base_url=base, timeout=30) as client:
                victim, abuser = register_user(client), register_user(client)
            quiet, abused, statuses = asyncio.run(
                _measure(base, victim.headers, abuser.headers, requests, abusers, phase_seconds)
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
    parser.add_argument("--quick", action="store_true", help="smaller volumes")
    parser.add_argument("--abusers", type=int, default=4, help="concurrent series creators")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    requests, seconds = (150, 60.0) if args.quick else (300, 120.0)
    result = run(args.backend, requests, args.abusers, seconds)
    report_neighbour(result, f"abuser responses by status: {result['abuser_statuses']}", args.json)


if __name__ == "__main__":
    main()
