"""Retention deletes finished rows past their window and nothing that is still needed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from app.db import make_engine, run_migrations
from app.models import (
    DeadLetter,
    IdempotencyRecord,
    InboxEntry,
    Notification,
    OutboxEvent,
    ScheduledReminder,
    WebhookDelivery,
)
from app.retention import Retention, delete_batch, sweeps
from app.settings import Settings
from tests.support.accounts import ApiUser
from tests.support.factories import make_user

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
# A batch smaller than the rows each test expires, so every sweep takes several rounds.
SETTINGS = Settings(environment="test", retention_batch_size=2)
LONG_AGO = NOW - 10_000 * DAY


def _outbox(owner: uuid.UUID, event_type: str, published: datetime | None) -> OutboxEvent:
    return OutboxEvent(
        topic="t",
        event_type=event_type,
        aggregate_id=uuid.uuid4(),
        owner_id=owner,
        payload={},
        created_at=LONG_AGO if published is None else published - HOUR,
        published_at=published,
    )


def _reminder(owner: uuid.UUID, state: str, remind: datetime, due: datetime) -> SQLModel:
    return ScheduledReminder(
        task_id=uuid.uuid4(),
        owner_id=owner,
        offset="PT0S",
        due_at=due,
        remind_at=remind,
        task_title="t",
        state=state,
    )


def _webhook(owner: uuid.UUID, delivered: datetime | None, gave_up: datetime | None) -> SQLModel:
    return WebhookDelivery(
        owner_id=owner,
        source_event_id=uuid.uuid4().hex,
        body={},
        delivered_at=delivered,
        gave_up_at=gave_up,
        created_at=LONG_AGO,
    )


def _inbox(_: uuid.UUID, at: datetime) -> SQLModel:
    return InboxEntry(consumer="c", event_id=uuid.uuid4().hex, topic="t", processed_at=at)


def _idempotency(owner: uuid.UUID, at: datetime) -> SQLModel:
    return IdempotencyRecord(
        owner_id=owner,
        key=uuid.uuid4().hex,
        fingerprint="f",
        status_code=201,
        response_body={},
        created_at=at,
    )


Factory = Callable[[uuid.UUID, datetime], SQLModel]
# Each kind of row: how to make one finished at a given time, and its window.
EXPIRING: dict[str, tuple[Factory, timedelta]] = {
    "sent outbox event": (
        lambda o, at: _outbox(o, "reminder.due", at),
        SETTINGS.outbox_retention_days * DAY,
    ),
    "task event (history)": (
        lambda o, at: _outbox(o, "task.updated", at),
        SETTINGS.history_retention_days * DAY,
    ),
    "inbox entry": (_inbox, SETTINGS.inbox_retention_days * DAY),
    "idempotency record": (_idempotency, SETTINGS.idempotency_retention_hours * HOUR),
    "dead letter": (
        lambda _, at: DeadLetter(consumer="c", topic="t", reason="r", body="b", created_at=at),
        SETTINGS.dead_letter_retention_days * DAY,
    ),
    "delivered webhook": (
        lambda o, at: _webhook(o, at, None),
        SETTINGS.webhook_delivery_retention_days * DAY,
    ),
    "abandoned webhook": (
        lambda o, at: _webhook(o, None, at),
        SETTINGS.webhook_delivery_retention_days * DAY,
    ),
    "fired reminder": (
        lambda o, at: _reminder(o, "fired", at, at),
        SETTINGS.reminder_retention_days * DAY,
    ),
    "skipped reminder": (
        lambda o, at: _reminder(o, "skipped", at, at),
        SETTINGS.reminder_retention_days * DAY,
    ),
    "read notification": (
        lambda o, at: Notification(owner_id=o, kind="k", title="t", created_at=at, read_at=at),
        SETTINGS.read_notification_retention_days * DAY,
    ),
}

# Rows no window applies to, however old: work not done yet, or not yet seen by the user.
NEVER_EXPIRING: dict[str, Callable[[uuid.UUID], SQLModel]] = {
    "unsent outbox event": lambda o: _outbox(o, "reminder.due", None),
    "unsent task event": lambda o: _outbox(o, "task.created", None),
    "unread notification": lambda o: Notification(
        owner_id=o, kind="k", title="t", created_at=LONG_AGO
    ),
    "pending reminder": lambda o: _reminder(o, "pending", LONG_AGO, LONG_AGO),
    "fired reminder of a task due later": lambda o: _reminder(o, "fired", LONG_AGO, NOW),
    "pending webhook delivery": lambda o: _webhook(o, None, None),
}


def _identity(row: Any) -> tuple[Any, ...]:
    return tuple(sa.inspect(row).identity or ())


def _store(engine: Engine, rows: list[SQLModel]) -> set[tuple[Any, ...]]:
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(rows)
        session.commit()
        return {_identity(row) for row in rows}


def _stored(engine: Engine, model: type[SQLModel]) -> set[tuple[Any, ...]]:
    with Session(engine) as session:
        return {_identity(row) for row in session.exec(select(model))}


def _sweep_until_done(retention: Retention, rounds: int = 50) -> None:
    for _ in range(rounds):
        if retention.run_once(NOW) == 0:
            return
    raise AssertionError(f"retention still deleting after {rounds} rounds")


@pytest.mark.parametrize("kind", list(EXPIRING))
def test_rows_past_their_window_are_deleted_and_recent_ones_kept(engine: Engine, kind: str) -> None:
    factory, window = EXPIRING[kind]
    owner = make_user(engine)
    _store(engine, [factory(owner, NOW - window - HOUR) for _ in range(5)])
    recent = factory(owner, NOW - window + HOUR)
    kept = _store(engine, [recent])
    _sweep_until_done(Retention(engine, SETTINGS))
    assert _stored(engine, type(recent)) == kept, f"retention of {kind} rows is wrong"


@pytest.mark.parametrize("kind", list(NEVER_EXPIRING))
def test_rows_still_needed_are_never_deleted_whatever_their_age(engine: Engine, kind: str) -> None:
    row = NEVER_EXPIRING[kind](make_user(engine))
    kept = _store(engine, [row])
    _sweep_until_done(Retention(engine, SETTINGS))
    assert _stored(engine, type(row)) == kept, f"retention deleted an {kind}"


def test_replicas_sweeping_at_once_delete_every_expired_row_without_errors(
    engine: Engine,
) -> None:
    old = NOW - SETTINGS.inbox_retention_days * DAY - HOUR
    _store(
        engine,
        [InboxEntry(consumer="c", event_id=str(n), topic="t", processed_at=old) for n in range(60)],
    )
    [inbox] = [s for s in sweeps(SETTINGS) if s.name == "inbox"]

    def replica() -> int:
        total = 0
        for _ in range(100):
            deleted = delete_batch(engine, inbox, NOW, 5)
            if not deleted and not _stored(engine, InboxEntry):
                return total
            total += deleted
        raise AssertionError("a replica was still sweeping after 100 rounds")

    with ThreadPoolExecutor(max_workers=3) as pool:
        totals = list(pool.map(lambda _: replica(), range(3)))
    assert sum(totals) == 60, f"replicas deleted {totals} rows in all, expected 60 once each"
    assert not _stored(engine, InboxEntry)


def test_a_task_whose_history_has_expired_still_answers_with_an_empty_history(
    client: TestClient, alice: ApiUser, engine: Engine
) -> None:
    task = client.post("/api/v1/tasks", headers=alice.headers, json={"title": "Old"}).json()
    with Session(engine) as session:
        for row in session.exec(select(OutboxEvent)):
            row.published_at = LONG_AGO
            session.add(row)
        session.commit()
    _sweep_until_done(Retention(engine, SETTINGS))
    answer = client.get(f"/api/v1/tasks/{task['id']}/history", headers=alice.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["events"] == []


def test_an_inbox_window_no_longer_than_the_brokers_retention_is_refused() -> None:
    with pytest.raises(ValidationError, match="INBOX_RETENTION_DAYS"):
        Settings(environment="test", inbox_retention_days=7)


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The migrated schema once for every sweep's plan."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('plan') / 'plan.db'}")
    run_migrations(engine, webhook_secret_key="w" * 48)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("sweep", sweeps(Settings(environment="test")), ids=lambda s: s.name)
def test_each_sweep_finds_its_expired_rows_through_an_index(
    sweep: Any, migrated_sqlite: Engine
) -> None:
    # A sweep runs every few minutes on tables that grow with use; a full scan each round
    # would cost more the longer the system runs. Checked on SQLite's plan of the migrated
    # schema: a SEARCH uses an index, a SCAN reads the whole table.
    chosen = sa.select(*sweep.key).where(sweep.expired(datetime.now(UTC))).limit(100)
    sql = str(chosen.compile(migrated_sqlite, compile_kwargs={"literal_binds": True}))
    with migrated_sqlite.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]

    scans = [step for step in plan if step.startswith("SCAN")]
    assert not scans, f"sweep {sweep.name} reads its whole table: {plan}"
