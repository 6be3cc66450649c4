"""Latency under offered load (issue 18, target 2): one `taskstream api` process on
PostgreSQL, an open-loop mix (bench/open_loop.py: 60 % get, 20 % list/search, 20 %
create/update) at a fixed rate, p95/p99 against 25 ms / 50 ms, then the highest rate that
still holds them.

The table holds --tasks tasks (default 1,000,000, as the issue asks). The user under load
owns LOAD_USER_TASKS of them, below the per-user quota (10,000) so creates are not refused;
another account owns the rest. Seeding a million rows takes minutes on a busy machine:
`--tasks 50000` is a quick run (`make bench` with --quick uses that).

    uv run python -m bench.latency_bench [--tasks N] [--rate 200] [--seconds 20] [--no-search]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from app.db import make_engine, run_migrations
from bench import targets
from bench.api_bench import database
from bench.harness import TASKSTREAM, server, server_env, table
from bench.open_loop import (
    P95_TARGET_MS,
    P99_TARGET_MS,
    OpenLoopResult,
    run_open_loop,
    search_rate,
    taskstream_mix,
)
from bench.seed import seed_tasks
from tests.support.accounts import register_user

LOAD_USER_TASKS = 5_000
TARGET_RATE = 200.0


def _user(base: str) -> tuple[dict[str, str], uuid.UUID]:
    with httpx.Client(base_url=base) as client:
        user = register_user(client)
    return user.headers, uuid.UUID(user.id)


def run(tasks: int, rate: float, seconds: float, search: bool) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="taskstream-latency-") as tmp,
        database("postgres", Path(tmp)) as url,
    ):
        engine = make_engine(url)
        run_migrations(engine)
        env = server_env(url)
        with server([TASKSTREAM, "api"], env, Path(tmp) / "api.log") as base:
            headers, owner = _user(base)
            _, other = _user(base)
            mine = min(tasks, LOAD_USER_TASKS)
            started = time.perf_counter()
            seed_tasks(engine, owner, mine)
            if tasks > mine:
                seed_tasks(engine, other, tasks - mine)
            seeding = time.perf_counter() - started
            with engine.connect() as connection:
                ids = [
                    str(row[0])
                    for row in connection.execute(
                        sa.text("SELECT id FROM task WHERE owner_id = :o LIMIT 1000"), {"o": owner}
                    )
                ]
            mix = taskstream_mix(ids)
            at_target = asyncio.run(
                run_open_loop(base, rate=rate, seconds=seconds, mix=mix, headers=headers)
            )
            best: float | None = None
            trials: list[OpenLoopResult] = []
            if search:
                best, trials = asyncio.run(
                    search_rate(base, mix=mix, headers=headers, seconds=max(seconds / 2, 5.0))
                )
        engine.dispose()
    return {
        "tasks": tasks,
        "load_user_tasks": mine,
        "seeding_seconds": round(seeding, 1),
        "at_target": at_target.as_dict(),
        "holds_at_target": at_target.holds(),
        "highest_rate_holding": best,
        "trials": [t.as_dict() for t in trials],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=TARGET_RATE)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--no-search", dest="search", action="store_false")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.tasks, args.rate, args.seconds, args.search)
    columns = ["rate", "achieved_rate", "completed", "errors", "late_starts"]
    columns += ["p50_ms", "p95_ms", "p99_ms", "max_ms"]
    print(
        f"{result['tasks']} tasks ({result['load_user_tasks']} the loaded user's), seeded in "
        f"{result['seeding_seconds']} s"
    )
    print(table([result["at_target"], *result["trials"]], columns))
    print("by operation at the target rate:", json.dumps(result["at_target"]["by_op"]))
    p95, p99 = result["at_target"]["p95_ms"], result["at_target"]["p99_ms"]
    errors = result["at_target"]["errors"]
    rate = f"{args.rate:g}/s"
    targets.record(
        f"open-loop p95 at {rate}, PostgreSQL, one API",
        p95,
        f"≤ {P95_TARGET_MS:g}",
        "ms",
        p95 <= P95_TARGET_MS and not errors,
    )
    targets.record(
        f"open-loop p99 at {rate}, PostgreSQL, one API",
        p99,
        f"≤ {P99_TARGET_MS:g}",
        "ms",
        p99 <= P99_TARGET_MS and not errors,
    )
    if args.search:
        best = result["highest_rate_holding"]
        targets.record(
            "open-loop highest rate holding p95/p99, PostgreSQL",
            best,
            f"≥ {args.rate:g}",
            "requests/s",
            best is not None and best >= args.rate,
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
