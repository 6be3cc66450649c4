"""What a task request costs in database round trips on PostgreSQL (issue 18, target 1).

Each statement the API sends is recorded with whether its connection was in a transaction;
psycopg sends BEGIN before the first statement of a transaction and the session's close
ends it with a ROLLBACK, two round trips a read does not need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db import make_engine
from app.main import create_app
from app.settings import Settings
from tests.support.accounts import register_user
from tests.support.resolvers import FakeResolver

pytestmark = pytest.mark.postgres


class Recorder:
    def __init__(self) -> None:
        self.statements: list[tuple[bool, str]] = []  # (in a transaction, statement)
        self.commits = 0

    def clear(self) -> None:
        self.statements.clear()

    def texts(self) -> list[str]:
        return [text for _, text in self.statements]


@pytest.fixture
def api(postgres_url: str) -> Iterator[tuple[TestClient, Recorder]]:
    engine = make_engine(postgres_url)
    recorder = Recorder()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        transactional = not conn.connection.dbapi_connection.autocommit
        recorder.statements.append((transactional, " ".join(statement.split())))

    @sa.event.listens_for(engine, "commit")
    def _commit(conn):  # type: ignore[no-untyped-def]
        recorder.statements.append((True, "COMMIT"))

    settings = Settings(environment="test", database_url=postgres_url)
    with TestClient(create_app(settings, engine, resolver=FakeResolver({}))) as client:
        client.headers.update(register_user(client).headers)
        yield client, recorder
    engine.dispose()


def _create(client: TestClient) -> dict[str, object]:
    created = client.post("/api/v1/tasks", json={"title": "t", "tags": ["b", "a"]})
    assert created.status_code == 201, created.text
    body: dict[str, object] = created.json()
    return body


def test_a_read_runs_outside_a_transaction(api: tuple[TestClient, Recorder]) -> None:
    client, recorder = api
    task = _create(client)
    recorder.clear()
    read = client.get(f"/api/v1/tasks/{task['id']}")
    assert read.status_code == 200
    assert read.json()["tags"] == ["a", "b"]
    assert recorder.statements, "the read sent no statement"
    assert not any(transactional for transactional, _ in recorder.statements)


def test_a_create_answers_with_the_tags_it_wrote_without_reading_them_back(
    api: tuple[TestClient, Recorder],
) -> None:
    client, recorder = api
    recorder.clear()
    task = _create(client)
    assert task["tags"] == ["a", "b"]
    assert all(transactional for transactional, _ in recorder.statements)
    assert not any("FROM tasktag" in text for text in recorder.texts())
    assert client.get(f"/api/v1/tasks/{task['id']}").json() == task


def test_a_create_with_known_tags_costs_seven_statements_and_counts_no_tasks(
    api: tuple[TestClient, Recorder],
) -> None:
    client, recorder = api
    _create(client)
    recorder.clear()
    _create(client)  # its tags exist now, as in the benchmark's creates
    texts = recorder.texts()
    # The task quota reads user.task_count (migration 0007) from the user the auth dependency
    # loaded: no count of the owner's tasks, whose cost grew with how many they have.
    counts = [t for t in texts if re.search(r"count\(.*\bFROM task\b(?!tag)", t, re.IGNORECASE)]
    assert counts == [], f"the create counted the owner's tasks: {counts}"
    kinds = [" ".join(t.split()[:3]) for t in texts]
    assert kinds == [
        'SELECT "user".id, "user".email,',
        "INSERT INTO task",
        "SELECT tag.id, tag.owner_id,",
        "INSERT INTO tasktag",
        "INSERT INTO outboxevent",
        "NOTIFY taskstream_outbox",
        "COMMIT",
    ], "\n".join(texts)


def test_an_update_answers_from_its_own_transaction(api: tuple[TestClient, Recorder]) -> None:
    client, recorder = api
    task = _create(client)
    recorder.clear()
    updated = client.patch(f"/api/v1/tasks/{task['id']}", json={"description": "d"})
    assert updated.status_code == 200
    assert recorder.texts()[-1] == "COMMIT", "a statement was sent after the commit"
    assert updated.json() == client.get(f"/api/v1/tasks/{task['id']}").json()
    assert updated.json()["version"] == task["version"] + 1  # type: ignore[operator]
