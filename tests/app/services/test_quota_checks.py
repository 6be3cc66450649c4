"""The per-user task counter (migration 0007) and the quota check that reads it."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from app.db import make_engine
from app.errors import QuotaExceeded
from app.models.enums import SeriesMode
from app.models.series import SeriesCreate
from app.models.task import Task, TaskCreate
from app.models.user import User
from app.quotas import Quotas
from app.retention import Retention
from app.services.series import create_series
from app.services.tasks import create_task, delete_task, get_task
from app.settings import Settings
from tests.support.factories import make_task, make_user
from workers.recurrer.handlers import materialise_window


def _counted(engine: Engine, owner: uuid.UUID) -> tuple[int, int]:
    """(the user's task_count, count(*) of their tasks), read in one transaction."""
    with engine.connect() as connection:
        kept = connection.execute(sa.select(User.task_count).where(User.id == owner)).scalar_one()
        actual = connection.execute(
            sa.select(sa.func.count()).select_from(Task).where(Task.owner_id == owner)
        ).scalar_one()
    return kept, actual


def _agrees(engine: Engine, owner: uuid.UUID, expected: int) -> str | None:
    """Why the counter is wrong (None if it equals count(*) and `expected`)."""
    kept, actual = _counted(engine, owner)
    if kept == actual == expected:
        return None
    return f"task_count {kept}, count(*) {actual}, expected {expected}"


def test_the_counter_follows_creates_deletes_series_bulk_inserts_and_purges(
    engine: Engine, database_url: str
) -> None:
    owner, other = make_user(engine), make_user(engine)
    made = [make_task(engine, owner, f"t{n}") for n in range(3)]
    make_task(engine, other)
    assert _agrees(engine, owner, 3) is None, _agrees(engine, owner, 3)

    with Session(engine) as session:
        delete_task(session, task=get_task(session, owner, made[0].id))
        session.commit()
    assert _agrees(engine, owner, 2) is None, _agrees(engine, owner, 2)

    paris_now = datetime.now(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    with Session(engine) as session:
        create_series(
            session,
            owner_id=owner,
            data=SeriesCreate(
                title="s",
                rrule="FREQ=DAILY",
                timezone="Europe/Paris",
                start=paris_now + timedelta(days=1),
                mode=SeriesMode.schedule,
            ),
        )
        session.commit()
    assert _agrees(engine, owner, 3) is None, _agrees(engine, owner, 3)
    materialise_window(engine, timedelta(days=5))
    assert _agrees(engine, owner, 7) is None, _agrees(engine, owner, 7)

    # Rows written past the services (a bulk load, an operator's SQL) are counted too.
    with engine.begin() as connection:
        now = datetime.now(UTC)
        connection.execute(
            sa.insert(Task),
            [
                {
                    "id": uuid.uuid4(),
                    "owner_id": owner,
                    "title": "raw",
                    "description": "",
                    "status": "todo",
                    "priority_rank": 2,
                    "reminders": [],
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for _ in range(4)
            ],
        )
        connection.execute(sa.delete(Task).where(col(Task.title) == "s"))  # the 5 occurrences
    assert _agrees(engine, owner, 6) is None, _agrees(engine, owner, 6)

    Retention(engine, Settings(environment="test", database_url=database_url)).run_once(
        datetime.now(UTC) + timedelta(days=3650)
    )
    assert _agrees(engine, owner, 6) is None, _agrees(engine, owner, 6)
    assert _agrees(engine, other, 1) is None, _agrees(engine, other, 1)

    # A deleted user's tasks go by cascade; the count of everyone else is untouched.
    with engine.begin() as connection:
        connection.execute(sa.delete(User).where(col(User.id) == owner))
    assert _agrees(engine, other, 1) is None, _agrees(engine, other, 1)


def test_a_rolled_back_create_leaves_the_counter_unchanged(engine: Engine) -> None:
    owner = make_user(engine)
    make_task(engine, owner)
    with Session(engine) as session:
        create_task(session, owner_id=owner, data=TaskCreate(title="undone"))
        session.rollback()
        # The session goes on after its rollback: its next check sees one task, not two.
        create_task(session, owner_id=owner, data=TaskCreate(title="kept"), quotas=Quotas(2))
        session.commit()
    assert _agrees(engine, owner, 2) is None, _agrees(engine, owner, 2)


def test_the_quota_counts_the_tasks_its_own_transaction_created(engine: Engine) -> None:
    # On PostgreSQL the counter includes a transaction's tasks only once it commits.
    owner = make_user(engine)
    make_task(engine, owner)
    quotas = Quotas(tasks_per_user=3)
    with Session(engine) as session:
        for title in ("a", "b"):
            create_task(session, owner_id=owner, data=TaskCreate(title=title), quotas=quotas)
        with pytest.raises(QuotaExceeded) as refused:
            create_task(session, owner_id=owner, data=TaskCreate(title="c"), quotas=quotas)
        assert refused.value.limit == "tasks_per_user"
        session.commit()
    assert _agrees(engine, owner, 3) is None, _agrees(engine, owner, 3)


def test_a_deletion_in_the_same_transaction_frees_a_place(engine: Engine) -> None:
    owner = make_user(engine)
    first = make_task(engine, owner)
    quotas = Quotas(tasks_per_user=1)
    with Session(engine) as session:
        delete_task(session, task=get_task(session, owner, first.id))
        create_task(session, owner_id=owner, data=TaskCreate(title="again"), quotas=quotas)
        session.commit()
    assert _agrees(engine, owner, 1) is None, _agrees(engine, owner, 1)


@pytest.mark.postgres
def test_one_users_parallel_creates_neither_deadlock_nor_lose_counts(postgres_url: str) -> None:
    engine = make_engine(postgres_url, pool_size=20)
    owner = make_user(engine)

    def five(worker: int) -> None:
        for n in range(5):
            with Session(engine) as session:
                create_task(session, owner_id=owner, data=TaskCreate(title=f"{worker}.{n}"))
                session.commit()

    try:
        with ThreadPoolExecutor(20) as pool:
            # Bounded: a deadlock would surface as an error or as this timeout.
            for done in [pool.submit(five, w) for w in range(20)]:
                done.result(timeout=60)
        assert _agrees(engine, owner, 100) is None, _agrees(engine, owner, 100)
    finally:
        engine.dispose()
