"""The embedded run mode: API, relay and both workers in one process on one bus."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import make_engine, utcnow
from app.events.wakeup import OutboxSignal
from app.main import create_app
from app.models import InboxEntry
from app.settings import Settings
from taskstream.embedded import background_engine, batched_wake, embedded_loops
from tests.conftest import ApiUser, register_user
from tests.support.scenarios import AFTER_COMPLETION_SERIES
from tests.support.waiting import wait_until
from workers.http import start_loops


@pytest.fixture
def system(database_url: str, engine: Engine) -> Iterator[TestClient]:
    settings = Settings(
        environment="test",
        database_url=database_url,
        relay_poll_seconds=0.05,
        notifier_poll_seconds=0.1,
    )
    # As `taskstream run` wires them: the loops on their own engine beside the API's.
    background = background_engine(settings, engine)
    stop = threading.Event()
    threads = start_loops(embedded_loops(settings, background), stop)
    with TestClient(create_app(settings, engine)) as client:
        yield client
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    background.dispose()


def _get(client: TestClient, user: ApiUser, path: str, **params: Any) -> Any:
    response = client.get(f"/api/v1{path}", headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_reminder_at_due_time_reaches_the_inbox_within_seconds(system: TestClient) -> None:
    user = register_user(system)
    due = datetime.now(UTC) + timedelta(seconds=2)
    system.post(
        "/api/v1/tasks",
        headers=user.headers,
        json={"title": "Call back", "due_at": due.isoformat(), "reminders": ["PT0S"]},
    )
    inbox = wait_until(
        lambda: _get(system, user, "/notifications")["items"], timeout=15, what="the reminder"
    )
    assert [n["title"] for n in inbox] == ["Reminder: Call back"]
    assert _get(system, user, "/notifications/unread-count") == {"unread": 1}


def test_completing_an_after_completion_occurrence_produces_the_next_one(
    system: TestClient,
) -> None:
    user = register_user(system)
    series = system.post(
        "/api/v1/recurring-tasks",
        headers=user.headers,
        json=AFTER_COMPLETION_SERIES,
    ).json()
    [first] = _get(system, user, "/tasks", series_id=series["id"])["items"]
    system.post(f"/api/v1/tasks/{first['id']}/complete", headers=user.headers)
    page = wait_until(
        lambda: (p := _get(system, user, "/tasks", series_id=series["id"]))["total"] == 2 and p,
        timeout=15,
        what="the next occurrence",
    )
    following = next(t for t in page["items"] if t["id"] != first["id"])
    assert following["status"] == "todo"
    assert following["title"] == "Water plants"
    history = _get(system, user, f"/tasks/{first['id']}/history")
    assert [e["event_type"] for e in history["events"]] == ["task.created", "task.completed"]


def test_the_embedded_system_deletes_rows_past_their_retention_window(
    database_url: str, engine: Engine
) -> None:
    settings = Settings(environment="test", database_url=database_url)
    expired = utcnow() - timedelta(days=settings.inbox_retention_days + 1)
    with Session(engine) as session:
        session.add(InboxEntry(consumer="c", event_id="e", topic="t", processed_at=expired))
        session.commit()

    def swept() -> bool:
        with Session(engine) as session:
            return session.exec(select(InboxEntry)).first() is None

    # Retention's first round runs as the loops start; later ones come once per interval.
    stop = threading.Event()
    threads = start_loops(embedded_loops(settings, engine), stop)
    try:
        wait_until(swept, timeout=15, what="retention in the embedded runner")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def test_the_loops_draw_on_a_pool_of_their_own_over_the_same_database(
    database_url: str, engine: Engine
) -> None:
    # Sharing the API's pool, the relay and workers held the connections admitted
    # requests were waiting for (issue 18's profile of `taskstream run` on PostgreSQL).
    settings = Settings(environment="test", database_url=database_url)
    background = background_engine(settings, engine)
    try:
        assert background.pool is not engine.pool
        assert background.url == engine.url
        with background.connect() as held, engine.connect() as other:
            assert held.connection.dbapi_connection is not other.connection.dbapi_connection
    finally:
        background.dispose()


def test_an_in_memory_database_keeps_its_one_connection_for_the_loops_too() -> None:
    settings = Settings(environment="test", database_url="sqlite://")
    api = make_engine(settings.database_url)
    assert background_engine(settings, api) is api
    api.dispose()


def test_a_commit_wakes_the_relay_which_then_lingers_to_gather_the_next_ones() -> None:
    signal = OutboxSignal()
    wait = batched_wake(signal, linger=0.05)
    signal.set()
    started = time.monotonic()
    wait(5.0)
    assert 0.05 <= time.monotonic() - started < 5.0
    started = time.monotonic()
    wait(0.05)  # nothing committed: the poll interval passes
    assert time.monotonic() - started >= 0.05
