"""Keeping a task's scheduled reminders in step with its latest event."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, insert, select

from app import tracing
from app.events.cloudevent import CloudEvent
from app.events.models import TaskEvent
from app.models.durations import parse_duration
from app.models.events import ScheduledReminder

PENDING, FIRED, SKIPPED = "pending", "fired", "skipped"

log = logging.getLogger(__name__)


def _remind_times(task_id: uuid.UUID, due_at: datetime, offsets: list[str]) -> dict[str, datetime]:
    """When each reminder fires; one that cannot be computed is left out, never retried.

    Rows stored before due times and offsets were range-checked can put a reminder
    before year 1; retrying such an event would only fail again and hold up the topic.
    """
    times = {}
    for offset in offsets:
        try:
            times[offset] = due_at - parse_duration(offset)
        except (OverflowError, ValueError) as exc:
            log.warning("task %s: reminder %r left unscheduled: %s", task_id, offset, exc)
    return times


def sync_reminders(session: Session, event: TaskEvent, _: CloudEvent) -> None:
    """Apply the task's reminders as of this event; older events than what we hold are ignored."""
    schedule = _Schedule.load(session, [event.task.id])
    schedule.apply(session, event)
    schedule.write_new(session)


def sync_reminders_batch(session: Session, events: Sequence[TaskEvent]) -> None:
    """`sync_reminders` for each event in turn, with one query for all their tasks'
    reminders and one statement for all the new ones."""
    if not events:
        return
    schedule = _Schedule.load(session, list({event.task.id for event in events}))
    for event in events:
        schedule.apply(session, event)
    schedule.write_new(session)


@dataclass
class _NewReminder:
    """A reminder this transaction creates: a plain record, inserted with the others in one
    statement (building a table model per row cost more than the database's work)."""

    task_id: uuid.UUID
    owner_id: uuid.UUID
    offset: str
    due_at: datetime
    remind_at: datetime
    task_title: str
    state: str
    task_version: int = 0
    claimed_by: str | None = None
    fired_at: datetime | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    # The trace of the change that scheduled it, as ScheduledReminder's own default.
    traceparent: str | None = field(default_factory=lambda: tracing.current_context()[0])
    tracestate: str | None = field(default_factory=lambda: tracing.current_context()[1])


class _Schedule:
    """The reminders of some tasks as this transaction has left them so far."""

    def __init__(self, held: dict[uuid.UUID, dict[str, ScheduledReminder | _NewReminder]]) -> None:
        self._held = held
        self._new: dict[tuple[uuid.UUID, str], _NewReminder] = {}

    @classmethod
    def load(cls, session: Session, task_ids: list[uuid.UUID]) -> _Schedule:
        held: dict[uuid.UUID, dict[str, ScheduledReminder | _NewReminder]] = {
            task_id: {} for task_id in task_ids
        }
        query = select(ScheduledReminder).where(col(ScheduledReminder.task_id).in_(task_ids))
        for reminder in session.exec(query):
            held[reminder.task_id][reminder.offset] = reminder
        return cls(held)

    def apply(self, session: Session, event: TaskEvent) -> None:
        task = event.task
        existing = self._held[task.id]
        if any(r.task_version > task.version for r in existing.values()):
            return  # a newer event already shaped this task's reminders
        wanted = {}
        if event.event_type != "task.deleted" and task.status != "done" and task.due_at is not None:
            wanted = _remind_times(task.id, task.due_at, task.reminders)
        for offset in [offset for offset in existing if offset not in wanted]:
            gone = existing.pop(offset)
            if isinstance(gone, _NewReminder):
                del self._new[(task.id, offset)]  # made by an earlier event here, never written
            else:
                session.delete(gone)
        for offset, remind_at in wanted.items():
            assert task.due_at is not None
            # A due time already past when the change happened has nothing left to remind of.
            state = SKIPPED if task.due_at <= event.occurred_at else PENDING
            reminder = existing.get(offset)
            if reminder is None:
                reminder = _NewReminder(
                    task_id=task.id,
                    owner_id=event.owner_id,
                    offset=offset,
                    due_at=task.due_at,
                    remind_at=remind_at,
                    task_title=task.title,
                    state=state,
                )
                existing[offset] = self._new[(task.id, offset)] = reminder
            elif reminder.remind_at != remind_at or reminder.due_at != task.due_at:
                reminder.remind_at, reminder.due_at = remind_at, task.due_at
                reminder.state, reminder.fired_at, reminder.claimed_by = state, None, None
                reminder.traceparent, reminder.tracestate = tracing.current_context()
            reminder.task_title = task.title
            reminder.task_version = task.version
            if isinstance(reminder, ScheduledReminder):
                session.add(reminder)

    def write_new(self, session: Session) -> None:
        """Insert the new reminders in one statement, after the deletes they may replace
        (a task done and reopened: the same task and offset, a new row)."""
        if not self._new:
            return
        session.flush()
        session.execute(insert(ScheduledReminder), [dict(vars(r)) for r in self._new.values()])
        self._new.clear()
