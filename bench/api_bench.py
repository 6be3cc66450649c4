"""API throughput and latency, taskstream beside the baseline, on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from app.db import make_engine, run_migrations
from app.models.enums import Priority, TaskStatus
from app.models.task import Task
from app.services.search import TaskQuery, _filters, _ordering
from bench.harness import TASKSTREAM, Figures, drive, server, table
from bench.seed import seed_tasks
from tests.support.accounts import register_user
from tests.support.postgres import start_server

CONCURRENCY = (1, 10, 100)


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    pg = start_server()
    if pg is None:
        raise RuntimeError("PostgreSQL binaries not found (tools/engines/postgres.sh)")
    try:
        yield pg.create_database(f"bench_{uuid.uuid4().hex[:8]}")
    finally:
        pg.destroy()


# The plans shown are those of the queries the benchmark sends (the first search term).
EXPLAINED = {
    "search": TaskQuery(q="invoice"),
    "filtered list": TaskQuery(
        status=[TaskStatus.todo], priority=[Priority.high], sort="due_at", order="asc"
    ),
}


def _explain(url: str, owner: uuid.UUID) -> dict[str, str]:
    """The plans of the search and the filtered list, to show they use their indexes."""
    engine = make_engine(url)
    plans = {}
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    with Session(engine) as session:
        for name, query in EXPLAINED.items():
            statement = (
                sa.select(Task.id)
                .where(*_filters(session, owner, query))
                .order_by(*_ordering(query))
                .limit(query.page_size + 1)
            )
            # Bound parameters, not literals: PostgreSQL's regconfig has no literal renderer.
            compiled = statement.compile(engine, compile_kwargs={"render_postcompile": True})
            params: Any = compiled.params
            if compiled.positiontup is not None:  # SQLite's qmark style
                # The Uuid type stores hex on SQLite; at the driver level we do that by hand.
                params = tuple(
                    v.hex if isinstance(v, uuid.UUID) else v
                    for v in (compiled.params[key] for key in compiled.positiontup)
                )
            rows = session.connection().exec_driver_sql(prefix + str(compiled), params).all()
            plans[name] = "\n".join(str(row[-1]) for row in rows)
    engine.dispose()
    return plans


async def _taskstream(
    base: str, seeded: list[str], headers: dict[str, str], total: int
) -> list[Figures]:
    figures = []
    for c in CONCURRENCY:
        n = max(total, c * 10)
        figures.append(
            await drive(
                f"create c={c}",
                lambda cl, i: cl.post(
                    "/api/v1/tasks",
                    json={"title": f"bench {i}", "tags": ["bench"], "priority": "high"},
                ),
                base_url=base,
                concurrency=c,
                total=n,
                headers=headers,
            )
        )
        figures.append(
            await drive(
                f"get c={c}",
                lambda cl, i: cl.get(f"/api/v1/tasks/{random.choice(seeded)}"),
                base_url=base,
                concurrency=c,
                total=n,
                headers=headers,
            )
        )
        figures.append(
            await drive(
                f"list-filter c={c}",
                lambda cl, i: cl.get(
                    "/api/v1/tasks",
                    params={"status": "todo", "priority": "high", "sort": "due_at", "order": "asc"},
                ),
                base_url=base,
                concurrency=c,
                total=n,
                headers=headers,
            )
        )
        figures.append(
            await drive(
                f"search c={c}",
                lambda cl, i: cl.get(
                    "/api/v1/tasks",
                    params={"q": random.choice(["invoice", "dentist plumber", "report"])},
                ),
                base_url=base,
                concurrency=c,
                total=n,
                headers=headers,
            )
        )
    return figures


async def _baseline(base: str, total: int) -> list[Figures]:
    figures = []
    async with httpx.AsyncClient(base_url=base) as client:
        ids = [
            (await client.post("/items", json={"title": f"seed {i}"})).json()["id"]
            for i in range(200)
        ]
    for c in CONCURRENCY:
        n = max(total, c * 10)
        figures.append(
            await drive(
                f"create c={c}",
                lambda cl, i: cl.post("/items", json={"title": f"bench {i}"}),
                base_url=base,
                concurrency=c,
                total=n,
            )
        )
        figures.append(
            await drive(
                f"get c={c}",
                lambda cl, i: cl.get(f"/items/{random.choice(ids)}"),
                base_url=base,
                concurrency=c,
                total=n,
            )
        )
    return figures


def _login(base: str) -> tuple[dict[str, str], uuid.UUID]:
    with httpx.Client(base_url=base) as client:
        user = register_user(client)
    return user.headers, uuid.UUID(user.id)


def run(kinds: list[str], tasks: int, total: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in kinds:
        with (
            tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp,
            database(kind, Path(tmp)) as url,
        ):
            engine = make_engine(url)
            run_migrations(engine)
            env = {
                "TASKSTREAM_DATABASE_URL": url,
                # Settings default to prod, which refuses the placeholder signing key.
                "TASKSTREAM_ENVIRONMENT": "test",
                "TASKSTREAM_LOG_LEVEL": "WARNING",
                "TASKSTREAM_LOGIN_ATTEMPTS_PER_MINUTE": "1000",
            }
            with server([TASKSTREAM, "api"], env, Path(tmp) / "api.log") as base:
                headers, owner = _login(base)
                seed_tasks(engine, owner, tasks)
                with engine.connect() as connection:
                    seeded = [
                        str(uuid.UUID(str(r[0])))
                        for r in connection.execute(sa.text("SELECT id FROM task LIMIT 500"))
                    ]
                ours = asyncio.run(_taskstream(base, seeded, headers, total))
            with server(
                [
                    sys.executable,
                    "-m",
                    "bench.baseline_app",
                    "--url",
                    f"{url}_baseline" if kind == "sqlite" else url,
                ],
                {},
                Path(tmp) / "baseline.log",
            ) as base:
                theirs = asyncio.run(_baseline(base, total))
            plans = _explain(url, owner)
            engine.dispose()
        baseline = {f.name: f for f in theirs}
        rows = []
        for f in ours:
            row = {"backend": kind, "tasks": tasks, **f.as_dict()}
            if f.name in baseline:
                row["baseline_throughput"] = round(baseline[f.name].throughput, 1)
                row["ratio"] = (
                    round(f.throughput / baseline[f.name].throughput, 2)
                    if baseline[f.name].throughput
                    else None
                )
            rows.append(row)
        results[kind] = {"rows": rows, "explain": plans}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks seeded before measuring")
    parser.add_argument(
        "--requests", type=int, default=300, help="requests per operation and level"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    results = run(args.backends.split(","), args.tasks, args.requests)
    columns = [
        "backend",
        "tasks",
        "name",
        "requests",
        "errors",
        "throughput",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "baseline_throughput",
        "ratio",
    ]
    for kind, result in results.items():
        rows = [
            {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}
            for r in result["rows"]
        ]
        print(table(rows, columns))
        for name, plan in result["explain"].items():
            print(f"\n{kind} EXPLAIN {name}:\n{plan}")
        print()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
