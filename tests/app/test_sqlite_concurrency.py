"""SQLite in WAL mode: readers run beside the one writer; writers queue, and nobody fails."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.db import make_engine, readers, run_migrations
from app.main import create_app
from app.settings import Settings
from tests.support.accounts import register_user
from tests.support.served import served

# Only a bound on a hang: the readers below must not wait for the writer at all.
HANG_SECONDS = 10.0


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'concurrent.db'}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    run_migrations(engine)
    yield engine
    engine.dispose()


@contextmanager
def write_lock_held(engine: Engine) -> Iterator[None]:
    """Hold SQLite's write lock, with an uncommitted row, until the block ends."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO inboxentry (consumer, event_id, topic, processed_at) "
                "VALUES ('held', 'held', 'held', CURRENT_TIMESTAMP)"
            )
        )
        yield
        connection.rollback()


def finishes_while_held(engine: Engine, action: Callable[[], object]) -> object:
    """Run `action` in a thread while the write lock is held; what it returned."""
    outcome: list[object] = []
    with write_lock_held(engine):
        thread = threading.Thread(target=lambda: outcome.append(action()), daemon=True)
        thread.start()
        thread.join(timeout=HANG_SECONDS)
        assert outcome, "the reader waited for the writer"
    return outcome[0]


def test_a_reading_transaction_runs_beside_the_writer_and_sees_its_snapshot(
    sqlite_engine: Engine,
) -> None:
    def count_inbox() -> int:
        with readers(sqlite_engine).begin() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM inboxentry")).scalar_one())

    # The writer's row is not committed: the reader sees the snapshot before it.
    assert finishes_while_held(sqlite_engine, count_inbox) == 0


def test_a_writing_transaction_still_takes_the_write_lock_at_begin(sqlite_engine: Engine) -> None:
    # A writer that began deferred could only upgrade later, and WAL answers a second
    # upgrader with SQLITE_BUSY at once; beginning immediate makes writers queue instead.
    with sqlite_engine.begin() as connection:
        connection.execute(sa.text("SELECT count(*) FROM inboxentry"))
        other = sqlite_engine.raw_connection()
        try:
            other.cursor().execute("PRAGMA busy_timeout=0")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.cursor().execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_a_get_is_answered_while_a_writer_holds_the_lock(
    sqlite_url: str, sqlite_engine: Engine
) -> None:
    settings = Settings(environment="test", database_url=sqlite_url)
    with (
        served(create_app(settings, sqlite_engine), "api-reads") as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        user = register_user(client)
        created = client.post("/api/v1/tasks", json={"title": "read me"}, headers=user.headers)
        assert created.status_code == 201, created.text
        path = f"/api/v1/tasks/{created.json()['id']}"

        def read() -> int:
            return client.get(path, headers=user.headers, timeout=HANG_SECONDS).status_code

        assert finishes_while_held(sqlite_engine, read) == 200


async def _mixed_load(base: str, headers: dict[str, str], ids: list[str]) -> list[str]:
    """Creates, updates, gets, lists and searches all at once; what went wrong."""
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def check(call: object, expected: int) -> None:
            response = await call  # type: ignore[misc]
            if response.status_code != expected:
                problems.append(
                    f"{response.request.method} {response.status_code}: {response.text}"
                )

        calls = []
        for i in range(40):
            calls.append(check(client.post("/api/v1/tasks", json={"title": f"new {i}"}), 201))
            calls.append(
                check(
                    client.patch(f"/api/v1/tasks/{ids[i % len(ids)]}", json={"title": f"x {i}"}),
                    200,
                )
            )
            for _ in range(3):
                calls.append(check(client.get(f"/api/v1/tasks/{ids[i % len(ids)]}"), 200))
            calls.append(check(client.get("/api/v1/tasks", params={"q": "seed"}), 200))
        await asyncio.gather(*calls)
    return problems


@pytest.mark.timeout(180)
def test_concurrent_reads_and_writes_all_succeed_with_every_write_applied(
    sqlite_url: str, sqlite_engine: Engine
) -> None:
    settings = Settings(environment="test", database_url=sqlite_url)
    with served(create_app(settings, sqlite_engine), "api-mixed") as port:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as client:
            user = register_user(client)
            ids = [
                client.post(
                    "/api/v1/tasks", json={"title": f"seed {i}"}, headers=user.headers
                ).json()["id"]
                for i in range(10)
            ]
        problems = asyncio.run(_mixed_load(base, user.headers, ids))
        assert problems == []
        with httpx.Client(base_url=base, headers=user.headers) as client:
            listed = client.get("/api/v1/tasks", params={"page_size": 100}).json()
            # Each seeded task was renamed four times: its version counts every update.
            versions = {
                task["id"]: task["version"] for task in listed["items"] if task["id"] in ids
            }
    assert len(listed["items"]) == 50
    assert versions == dict.fromkeys(ids, 5)
