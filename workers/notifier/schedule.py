"""Keeping a task's scheduled reminders in step with its latest event."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

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
    _Schedule.load(session, [event.task.id]).apply(session, event)


def sync_reminders_batch(session: Session, events: Sequence[TaskEvent]) -> None:
    """`sync_reminders` for each event in turn, with one query for all their tasks'
    reminders and the writes left to the batch's flush."""
    if not events:
        return
    schedule = _Schedule.load(session, list({event.task.id for event in events}))
    for event in events:
        schedule.apply(session, event)


class _Schedule:
    """The reminders of some tasks as this transaction has left them so far."""

    def __init__(self, held: dict[uuid.UUID, dict[str, ScheduledReminder]]) -> None:
        self._held = held
        # Deleted in the session but not yet flushed: a new row for the same task and
        # offset would be inserted before the delete runs, and break the unique key.
        self._unflushed_deletes: set[tuple[uuid.UUID, str]] = set()

    @classmethod
    def load(cls, session: Session, task_ids: list[uuid.UUID]) -> _Schedule:
        held: dict[uuid.UUID, dict[str, ScheduledReminder]] = {t: {} for t in task_ids}
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
            self._delete(session, existing.pop(offset))
        for offset, remind_at in wanted.items():
            assert task.due_at is not None
            # A due time already past when the change happened has nothing left to remind of.
            state = SKIPPED if task.due_at <= event.occurred_at else PENDING
            found = existing.get(offset)
            if found is None:
                if (task.id, offset) in self._unflushed_deletes:
                    session.flush()
                    self._unflushed_deletes.clear()
                reminder = ScheduledReminder(
                    task_id=task.id,
                    owner_id=event.owner_id,
                    offset=offset,
                    due_at=task.due_at,
                    remind_at=remind_at,
                    task_title=task.title,
                    state=state,
                )
                existing[offset] = reminder
            else:
                reminder = found
                if reminder.remind_at != remind_at or reminder.due_at != task.due_at:
                    reminder.remind_at, reminder.due_at = remind_at, task.due_at
                    reminder.state, reminder.fired_at, reminder.claimed_by = state, None, None
                    reminder.traceparent, reminder.tracestate = tracing.current_context()
            reminder.task_title = task.title
            reminder.task_version = task.version
            session.add(reminder)

    def _delete(self, session: Session, reminder: ScheduledReminder) -> None:
        if reminder in session.new:
            session.expunge(reminder)  # added by an earlier event of this batch, never written
        else:
            session.delete(reminder)
            self._unflushed_deletes.add((reminder.task_id, reminder.offset))
