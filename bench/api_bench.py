"""API throughput and latency: taskstream beside the fair peer (bench/peer_app.py) and the
bare baseline (bench/baseline_app.py), interleaved in one run, on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from app.db import make_engine, run_migrations
from app.models.enums import Priority, TaskStatus
from app.models.task import Task
from app.services.search import TaskQuery, _filters, _ordering
from bench import targets
from bench.harness import TASKSTREAM, drive, quota_for, server, server_env, table
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


CREATE = {"title": "bench", "tags": ["bench"], "priority": "high"}


@dataclass
class Target:
    """One system under test: where it listens, who it is, and how it creates and gets."""

    base: str
    headers: dict[str, str]
    create_path: str
    get_path: str  # with {id}
    ids: list[str]
    create_body: dict[str, Any]


def _create(t: Target) -> Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]:
    return lambda cl, i: cl.post(t.create_path, json={**t.create_body, "title": f"bench {i}"})


def _get(t: Target) -> Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]:
    return lambda cl, i: cl.get(t.get_path.format(id=random.choice(t.ids)))


async def _compare(ours: Target, peer: Target, bare: Target, total: int) -> list[dict[str, Any]]:
    """Create and get on all three, interleaved cell by cell so they share the machine's
    load; then taskstream's list and search."""
    rows: list[dict[str, Any]] = []
    for c in CONCURRENCY:
        n = max(total, c * 10)
        for op, call in (("create", _create), ("get", _get)):
            name = f"{op} c={c}"
            figures = {}
            for who, t in (("taskstream", ours), ("peer", peer), ("baseline", bare)):
                figures[who] = await drive(
                    name, call(t), base_url=t.base, concurrency=c, total=n, headers=t.headers
                )
            row: dict[str, Any] = figures["taskstream"].as_dict()
            for who in ("peer", "baseline"):
                theirs = figures[who].throughput
                row[f"{who}_throughput"] = round(theirs, 1)
                row[f"{who}_errors"] = figures[who].errors
                row[f"ratio_{who}"] = (
                    round(figures["taskstream"].throughput / theirs, 2) if theirs else None
                )
            rows.append(row)
        for name, list_call in (
            (
                "list-filter",
                lambda cl, i: cl.get(
                    "/api/v1/tasks",
                    params={"status": "todo", "priority": "high", "sort": "due_at", "order": "asc"},
                ),
            ),
            (
                "search",
                lambda cl, i: cl.get(
                    "/api/v1/tasks",
                    params={"q": random.choice(["invoice", "dentist plumber", "report"])},
                ),
            ),
        ):
            f = await drive(
                f"{name} c={c}",
                list_call,
                base_url=ours.base,
                concurrency=c,
                total=n,
                headers=ours.headers,
            )
            rows.append(f.as_dict())
    return rows


def _login(base: str) -> tuple[dict[str, str], uuid.UUID]:
    with httpx.Client(base_url=base) as client:
        user = register_user(client)
    return user.headers, uuid.UUID(user.id)


async def _seed_over_http(
    base: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> list[str]:
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        return [
            (await client.post(path, json={**body, "title": f"seed {i}"})).json()["id"]
            for i in range(200)
        ]


def _peer_user(base: str) -> dict[str, str]:
    with httpx.Client(base_url=base) as client:
        answer = client.post("/users", json={"email": f"{uuid.uuid4().hex}@example.com"})
        answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def run(kinds: list[str], tasks: int, total: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in kinds:
        with (
            tempfile.TemporaryDirectory(prefix="taskstream-bench-") as tmp,
            database(kind, Path(tmp)) as url,
        ):
            engine = make_engine(url)
            run_migrations(engine)
            # The seeded tasks alone can reach the default task quota; the check still runs
            # on every create, only its limit is out of the benchmark's reach.
            creates = sum(max(total, c * 10) for c in CONCURRENCY)
            env = server_env(url, **quota_for(tasks, creates))
            other = (lambda suffix: f"{url}_{suffix}") if kind == "sqlite" else (lambda _: url)
            secret = uuid.uuid4().hex * 2
            with (
                server([TASKSTREAM, "api"], env, Path(tmp) / "api.log") as base,
                server(
                    [
                        sys.executable,
                        "-m",
                        "bench.peer_app",
                        "--url",
                        other("peer"),
                        "--secret",
                        secret,
                    ],
                    {},
                    Path(tmp) / "peer.log",
                ) as peer_base,
                server(
                    [sys.executable, "-m", "bench.baseline_app", "--url", other("baseline")],
                    {},
                    Path(tmp) / "baseline.log",
                ) as bare_base,
            ):
                headers, owner = _login(base)
                seed_tasks(engine, owner, tasks)
                with engine.connect() as connection:
                    seeded = [
                        str(uuid.UUID(str(r[0])))
                        for r in connection.execute(sa.text("SELECT id FROM task LIMIT 500"))
                    ]
                peer_headers = _peer_user(peer_base)
                ours = Target(base, headers, "/api/v1/tasks", "/api/v1/tasks/{id}", seeded, CREATE)
                peer_body = {"title": "bench", "priority": "high"}
                peer = Target(
                    peer_base,
                    peer_headers,
                    "/tasks",
                    "/tasks/{id}",
                    asyncio.run(_seed_over_http(peer_base, "/tasks", peer_body, peer_headers)),
                    peer_body,
                )
                bare = Target(
                    bare_base,
                    {},
                    "/items",
                    "/items/{id}",
                    asyncio.run(_seed_over_http(bare_base, "/items", {}, {})),
                    {},
                )
                rows = asyncio.run(_compare(ours, peer, bare, total))
            plans = _explain(url, owner)
            engine.dispose()
        rows = [{"backend": kind, "tasks": tasks, **row} for row in rows]
        results[kind] = {"rows": rows, "explain": plans}
    return results


def record_targets(results: dict[str, Any]) -> None:
    """Issue 18 target 1: taskstream at least as fast as the fair peer on PostgreSQL."""
    rows = {r["name"]: r for r in results.get("postgres", {}).get("rows", [])}
    for op in ("create", "get"):
        for c in (10, 100):
            row = rows.get(f"{op} c={c}", {})
            ratio = row.get("ratio_peer")
            targets.record(
                f"api {op} c={c} PostgreSQL, taskstream / fair peer",
                ratio,
                "≥ 1.0",
                "x",
                ratio is not None and ratio >= 1.0 and not row.get("errors"),
            )


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
        "peer_throughput",
        "ratio_peer",
        "baseline_throughput",
        "ratio_baseline",
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
    record_targets(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    failing = [
        f"{kind} {row['name']}"
        for kind, result in results.items()
        for row in result["rows"]
        if row.get("errors") or row.get("peer_errors") or row.get("baseline_errors")
    ]
    if failing:
        sys.exit(f"requests failed in: {', '.join(failing)}; those figures measure failures")


if __name__ == "__main__":
    main()
