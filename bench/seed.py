"""Fast bulk seeding of tasks for one user, straight into the database."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models.events import ScheduledReminder

WORDS = (
    "invoice",
    "report",
    "meeting",
    "groceries",
    "dentist",
    "plumber",
    "backup",
    "deploy",
    "review",
    "budget",
    "garden",
    "laundry",
    "taxes",
    "flight",
    "hotel",
    "renew",
    "insurance",
    "birthday",
    "gift",
    "repair",
)


def seed_tasks(engine: Engine, owner: uuid.UUID, count: int, *, batch: int = 5000) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    if engine.dialect.name == "postgresql":
        _seed_postgres(engine, owner, count)
        return
    rows = []
    for i in range(count):
        due = now + timedelta(hours=rng.randint(-500, 2000)) if i % 4 else None
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "owner_id": owner.hex,
                "title": " ".join(rng.sample(WORDS, 3)) + f" {i}",
                "description": " ".join(rng.sample(WORDS, 6)),
                "status": rng.choice(["todo", "in_progress", "done"]),
                "priority_rank": rng.randint(1, 4),
                "due_at": due.replace(tzinfo=None).isoformat(sep=" ") if due else None,
                "reminders": "[]",
                "created_at": (now - timedelta(minutes=i)).replace(tzinfo=None).isoformat(sep=" "),
                "updated_at": (now - timedelta(minutes=i)).replace(tzinfo=None).isoformat(sep=" "),
                "version": 1,
            }
        )
    insert = sa.text(
        "INSERT INTO task (id, owner_id, title, description, status, priority_rank, due_at, "
        "reminders, created_at, updated_at, version) VALUES (:id, :owner_id, :title, "
        ":description, :status, :priority_rank, :due_at, :reminders, :created_at, "
        ":updated_at, :version)"
    )
    with engine.begin() as connection:
        for start in range(0, len(rows), batch):
            connection.execute(insert, rows[start : start + batch])


def _seed_postgres(engine: Engine, owner: uuid.UUID, count: int, batch: int = 10_000) -> None:
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    statement = sa.text(f"""
        INSERT INTO task (id, owner_id, title, description, status, priority_rank, due_at,
                          reminders, created_at, updated_at, version)
        SELECT gen_random_uuid(), :owner,
               ({words})[1 + (i * 7) % 20] || ' ' || ({words})[1 + (i * 13) % 20] || ' ' || i,
               ({words})[1 + (i * 3) % 20] || ' ' || ({words})[1 + (i * 11) % 20],
               (ARRAY['todo','in_progress','done'])[1 + i % 3], 1 + i % 4,
               CASE WHEN i % 4 = 0 THEN NULL
                    ELSE now() + ((i % 2500) - 500) * interval '1 hour' END,
               '[]', now() - i * interval '1 minute', now() - i * interval '1 minute', 1
        FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS i
    """)  # noqa: S608  (the word list is a constant of this module)
    # One transaction per batch: the task counter's trigger updates the owner's row once per
    # task at commit, and a transaction cannot prune its own row versions, so one transaction
    # of a million tasks would walk ever longer chains of them (migration 0007).
    for first in range(1, count + 1, batch):
        with engine.begin() as connection:
            last = min(first + batch - 1, count)
            connection.execute(statement, {"owner": owner, "first": first, "last": last})
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE task"))


def schedule_reminders(
    engine: Engine, owner: uuid.UUID, count: int, start: datetime, spread_seconds: float
) -> None:
    """`count` due-time reminders for `owner`, evenly from `start` over `spread_seconds`."""
    with Session(engine) as session:
        for i in range(count):
            at = start + timedelta(seconds=spread_seconds * i / count)
            session.add(
                ScheduledReminder(
                    task_id=uuid.uuid4(),
                    owner_id=owner,
                    offset="PT0S",
                    due_at=at,
                    remind_at=at,
                    task_title=f"r{i}",
                )
            )
        session.commit()
