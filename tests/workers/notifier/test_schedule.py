"""A batch of task events schedules reminders exactly as the same events one by one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from app.db import utcnow
from app.events.models import TaskEvent, TaskEventType, TaskSnapshot
from app.models.events import ScheduledReminder
from workers.notifier.schedule import sync_reminders, sync_reminders_batch

Row = tuple[Any, ...]


class _Task:
    """A task's successive events, each one version later than the last."""

    def __init__(self, owner: uuid.UUID, title: str) -> None:
        self.id, self.owner, self.title, self.version = uuid.uuid4(), owner, title, 0

    def event(
        self,
        kind: TaskEventType,
        due_at: datetime | None,
        reminders: list[str],
        *,
        status: str = "todo",
        version: int | None = None,
    ) -> TaskEvent:
        if version is None:
            self.version += 1
        snapshot = TaskSnapshot(
            id=self.id, title=f"{self.title} v{self.version}", status=status,  # type: ignore[arg-type]
            priority="low", tags=[], due_at=due_at, reminders=reminders, series_id=None,
            occurrence_at=None, completed_at=None, version=version or self.version,
        )  # fmt: skip
        return TaskEvent(
            event_type=kind, task_id=self.id, owner_id=self.owner, occurred_at=utcnow(),
            task=snapshot,
        )  # fmt: skip


def _history() -> tuple[list[TaskEvent], list[TaskEvent]]:
    """Two batches whose changes only agree if each event sees what the ones before it,
    in the database or earlier in its batch, left."""
    owner = uuid.uuid4()
    due = utcnow() + timedelta(days=3)
    a, b, c, d = (_Task(owner, name) for name in "abcd")
    first = [
        a.event("task.created", due, ["P1D", "PT1H"]),
        b.event("task.created", due, ["PT1H"]),
        c.event("task.created", due, ["PT5M"]),
        d.event("task.created", None, []),
    ]
    return first, [
        # a: one reminder dropped, then the due time moved there and back (re-armed twice).
        a.event("task.updated", due, ["PT1H"]),
        a.event("task.updated", due + timedelta(hours=2), ["PT1H"]),
        a.event("task.updated", due, ["PT1H", "PT2H"]),
        # b: done and reopened in one batch: its stored reminder is deleted, then made anew.
        b.event("task.completed", due, ["PT1H"], status="done"),
        b.event("task.reopened", due, ["PT1H"]),
        # c: a reminder added, then the task deleted: the new row is never written.
        c.event("task.updated", due, ["PT5M", "PT10M"]),
        c.event("task.deleted", due, ["PT5M", "PT10M"]),
        # d: a due time arrives, then a stale replay of its creation must not undo it.
        d.event("task.updated", due, ["PT30M"]),
        d.event("task.created", None, [], version=1),
        # a due time already past when the change happened: skipped, not pending.
        d.event("task.updated", utcnow() - timedelta(minutes=1), ["PT30M"]),
    ]


def _schedule(engine: Engine) -> list[Row]:
    with Session(engine) as session:
        reminders = session.exec(
            select(ScheduledReminder).order_by(
                col(ScheduledReminder.task_title), col(ScheduledReminder.offset)
            )
        ).all()
    return [
        (r.task_id, r.offset, r.due_at, r.remind_at, r.state, r.task_title, r.task_version)
        for r in reminders
    ]


def _clear(engine: Engine) -> None:
    with Session(engine) as session:
        session.exec(delete(ScheduledReminder))
        session.commit()


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]).split()[0])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def test_a_batch_leaves_the_same_reminders_as_its_events_applied_one_by_one(
    engine: Engine,
) -> None:
    batches = _history()
    for event in [event for batch in batches for event in batch]:
        with Session(engine) as session:
            sync_reminders(session, event, None)  # type: ignore[arg-type]
            session.commit()
    one_by_one = _schedule(engine)
    _clear(engine)
    for batch in batches:
        with Session(engine) as session:
            sync_reminders_batch(session, batch)
            session.commit()
    assert _schedule(engine) == one_by_one
    assert {(row[1], row[4]) for row in one_by_one} == {
        ("PT1H", "pending"),
        ("PT2H", "pending"),
        ("PT30M", "skipped"),
    }, "the history no longer exercises what it should"


def test_a_later_event_in_the_batch_wins_over_an_earlier_one_for_the_same_task(
    engine: Engine,
) -> None:
    task = _Task(uuid.uuid4(), "t")
    due = utcnow() + timedelta(days=1)
    with Session(engine) as session:
        sync_reminders_batch(
            session,
            [
                task.event("task.created", due, ["PT1H"]),
                task.event("task.updated", due + timedelta(days=1), ["P1D"]),
            ],
        )
        session.commit()
    later = due + timedelta(days=1)
    assert [(row[1], row[3], row[6]) for row in _schedule(engine)] == [
        ("P1D", later - timedelta(days=1), 2)
    ]


def test_a_batch_costs_the_same_few_statements_however_many_tasks_it_holds(
    engine: Engine,
) -> None:
    owner, due = uuid.uuid4(), utcnow() + timedelta(days=1)
    tasks = [_Task(owner, f"t{i}") for i in range(50)]
    with Session(engine) as session:
        sync_reminders_batch(session, [t.event("task.created", due, ["PT1H"]) for t in tasks])
        session.commit()
    moved = [t.event("task.updated", due + timedelta(hours=1), ["PT1H", "PT2H"]) for t in tasks]
    with _statements(engine) as statements, Session(engine) as session:
        sync_reminders_batch(session, moved)
        session.flush()
    # One SELECT of every task's reminders, the new rows in one INSERT, the changed ones
    # in one executemany: not three round trips per event.
    assert statements.count("SELECT") == 1, statements
    assert len(statements) <= 4, statements
    assert len(_schedule(engine)) == 50, "the second batch was not rolled back"
