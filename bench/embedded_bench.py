"""The embedded mode under offered load: `taskstream run` driven open-loop with the mixed workload.

Requests arrive at a fixed rate whatever the responses do (60 % get, 20 % list/search,
20 % create/update); each latency is measured from the moment its request was due, so a
server that falls behind shows it in the percentiles instead of slowing the load. Issue 18,
target 3: at 200 requests/s, p95 <= 25 ms and p99 <= 50 ms, on SQLite (the default) and on
PostgreSQL (the same single process pointed at it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from app.db import make_engine, run_migrations
from bench import targets
from bench.api_bench import database
from bench.harness import TASKSTREAM, Figures, quota_for, server, server_env, table
from bench.open_loop import P95_TARGET_MS, P99_TARGET_MS, run_open_loop, taskstream_mix
from bench.seed import seed_tasks
from tests.support.accounts import register_user

TARGET_RATE = 200.0
# Target 3 holds the embedded mode to the API's own bounds (target 2).
TARGET_P95_MS = P95_TARGET_MS
TARGET_P99_MS = P99_TARGET_MS
SWEEP = (50.0, 100.0, 150.0, 200.0, 300.0)


async def open_loop(
    base: str,
    headers: dict[str, str],
    ids: list[str],
    rate: float,
    seconds: float,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Figures:
    """Issue 18's mix offered at `rate` per second for `seconds` (bench/open_loop.py), as
    this benchmark's row: requests answered, errors (abandoned ones too), percentiles."""
    result = await run_open_loop(
        base,
        rate=rate,
        seconds=seconds,
        mix=taskstream_mix(ids),
        headers=headers,
        seed=int(rate),
        transport=transport,
    )
    return Figures(
        name=f"{rate:g}/s",
        requests=result.completed,
        errors=result.errors,
        seconds=result.seconds,
        p50_ms=result.p50_ms,
        p95_ms=result.p95_ms,
        p99_ms=result.p99_ms,
    )


def record_target(name: str, figure: float, target: float, met: bool) -> None:
    targets.record(name, round(figure, 1), f"<= {target:g} ms", "ms", met)


def _verdict(row: Figures) -> str:
    met = row.p95_ms <= TARGET_P95_MS and row.p99_ms <= TARGET_P99_MS and not row.errors
    return "met" if met else "MISSED"


def run(kind: str, rates: list[float], seconds: float, tasks: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="taskstream-embedded-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        engine = make_engine(url)
        run_migrations(engine)
        env = server_env(
            url,
            TASKSTREAM_REGISTRATIONS_PER_ADDRESS_PER_HOUR="1000",
            # Every request of the warm-up and the runs could be a create, at most.
            **quota_for(tasks, int(sum(rates) * seconds + 100.0)),
        )
        with server([TASKSTREAM, "run"], env, Path(tmp) / "run.log") as base:
            with httpx.Client(base_url=base) as client:
                user = register_user(client)
            seed_tasks(engine, uuid.UUID(user.id), tasks)
            with engine.connect() as connection:
                ids = [
                    str(uuid.UUID(str(r[0])))
                    for r in connection.execute(sa.text("SELECT id FROM task LIMIT 1000"))
                ]
            engine.dispose()
            # A short warm-up so first-request costs (imports, caches) are not measured.
            asyncio.run(open_loop(base, user.headers, ids, 50.0, 2.0))
            rows = []
            for rate in rates:
                load = os.getloadavg()[0]
                row = asyncio.run(open_loop(base, user.headers, ids, rate, seconds))
                rows.append({**row.as_dict(), "load_1m": round(load, 2), "verdict": _verdict(row)})
                print(
                    f"  {kind} {row.name}: p95 {row.p95_ms:.1f} ms, p99 {row.p99_ms:.1f} ms, "
                    f"{row.errors} errors, load {load:.1f}",
                    flush=True,
                )
            log = (Path(tmp) / "run.log").read_text()
        locked = log.count("database is locked")
    return {"backend": kind, "tasks": tasks, "rows": rows, "database_is_locked_in_log": locked}


def held_rate(rows: list[dict[str, Any]]) -> float | None:
    """The highest rate of the sweep that still held the target."""
    held = [float(r["name"].removesuffix("/s")) for r in rows if r["verdict"] == "met"]
    return max(held) if held else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in SWEEP))
    parser.add_argument("--seconds", type=float, default=15.0, help="per rate")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks seeded first")
    parser.add_argument("--quick", action="store_true", help="shorter phases")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    seconds = 6.0 if args.quick else args.seconds
    rates = [float(r) for r in args.rates.split(",")]
    results = [run(kind, rates, seconds, args.tasks) for kind in args.backends.split(",")]
    columns = ["name", "requests", "errors", "throughput", "p50_ms", "p95_ms", "p99_ms"]
    for result in results:
        rows = [
            {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}
            for r in result["rows"]
        ]
        print(f"`taskstream run` on {result['backend']} ({result['tasks']} tasks seeded)")
        print(table(rows, [*columns, "load_1m", "verdict"]))
        at_target = [r for r in result["rows"] if r["name"] == f"{TARGET_RATE:g}/s"]
        if at_target:
            row = at_target[0]
            verdict = row["verdict"]
            print(
                f"target 3 ({result['backend']}): at {TARGET_RATE:g} requests/s "
                f"p95 {row['p95_ms']:.1f} ms (target <= {TARGET_P95_MS:g}), "
                f"p99 {row['p99_ms']:.1f} ms (target <= {TARGET_P99_MS:g}), "
                f"{row['errors']} errors: {verdict}"
            )
            at = f"`taskstream run` on {result['backend']} at {TARGET_RATE:g} requests/s"
            clean = not row["errors"]
            p95, p99 = row["p95_ms"], row["p99_ms"]
            record_target(f"{at} p95", p95, TARGET_P95_MS, clean and p95 <= TARGET_P95_MS)
            record_target(f"{at} p99", p99, TARGET_P99_MS, clean and p99 <= TARGET_P99_MS)
        print(f"highest rate held: {held_rate(result['rows'])} requests/s")
        print(f"'database is locked' in the server log: {result['database_is_locked_in_log']}\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
