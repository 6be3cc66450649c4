"""Next occurrences: after a completion, and a window ahead for scheduled series."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.errors import QuotaExceeded
from app.events.cloudevent import CloudEvent
from app.events.models import TaskEvent
from app.models.enums import SeriesMode
from app.models.notification import Notification
from app.models.series import RecurringSeries
from app.models.task import Task
from app.quotas import Quotas, RecurrenceBounds
from app.services.recurrence import StepBudgetExhausted
from app.services.series import materialise, rule_of
from workers.runtime import Event

# How far back a scheduled series catches up after the recurrer was down.
CATCH_UP = timedelta(days=1)
MAX_PER_SERIES = 500

log = logging.getLogger(__name__)


def on_task_event(
    session: Session,
    event: Event,
    _: CloudEvent,
    bounds: RecurrenceBounds | None = None,
    quotas: Quotas | None = None,
) -> None:
    """When an occurrence of an after-completion series is completed, create the next one."""
    if not isinstance(event, TaskEvent) or event.event_type != "task.completed":
        return
    task = event.task
    if task.series_id is None or task.occurrence_at is None:
        return
    series = session.exec(
        select(RecurringSeries)
        .where(RecurringSeries.id == task.series_id, RecurringSeries.owner_id == event.owner_id)
        .with_for_update()
    ).first()
    if series is None or not series.is_active or series.mode != SeriesMode.after_completion:
        return
    later = session.exec(
        select(Task.id).where(
            Task.series_id == series.id, col(Task.occurrence_at) > task.occurrence_at
        )
    ).first()
    if later is not None:
        return  # this occurrence already has a successor (a reopen and re-complete, say)
    bounds = bounds or RecurrenceBounds()
    rule = rule_of(series, bounds)
    if rule is None or (rule.count is not None and series.materialised_count >= rule.count):
        return
    completed_at = task.completed_at or event.occurred_at
    try:
        # Completed early, one interval after completion can land on (or before) the very
        # occurrence completed, which already exists: the next one must lie beyond it.
        following = rule.next_after_completion(
            completed_at, floor=max(completed_at, task.occurrence_at)
        )
    except StepBudgetExhausted:
        log.warning("series %s: no next occurrence within the step budget", series.id)
        following = None
    if following is not None:
        try:
            materialise(session, series, following, bounds, quotas)
        except QuotaExceeded as exc:
            _stop(session, series, exc.detail)


def _stop(session: Session, series: RecurringSeries, reason: str) -> None:
    """Stop a series that cannot go on, and tell its owner why in their inbox."""
    series.is_active = False
    series.next_occurrence_at = None
    session.add(series)
    session.add(
        Notification(
            owner_id=series.owner_id,
            kind="series.stopped",
            title=f"Recurring series stopped: {series.title}",
            body=reason,
        )
    )
    log.info("series %s stopped: %s", series.id, reason)


def materialise_window(
    engine: Engine,
    window: timedelta,
    limit: int = 200,
    bounds: RecurrenceBounds | None = None,
    quotas: Quotas | None = None,
) -> int:
    """Keep active scheduled series materialised up to now + window.

    Each series records the next occurrence it still owes, so a run visits only series
    with something due inside the window, however many are already filled. Returns how
    many series were visited (a busy loop runs again at once).
    """
    now = utcnow()
    horizon = now + window
    with Session(engine) as session:
        due = session.exec(
            select(RecurringSeries)
            .where(
                col(RecurringSeries.is_active).is_(True),
                RecurringSeries.mode == SeriesMode.schedule.value,
                sa.or_(
                    col(RecurringSeries.next_occurrence_at).is_(None),
                    col(RecurringSeries.next_occurrence_at) <= horizon,
                ),
            )
            .order_by(col(RecurringSeries.next_occurrence_at).asc().nulls_first())
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for series in due:
            _fill(session, series, now, horizon, bounds or RecurrenceBounds(), quotas)
        session.commit()
    return len(due)


def _fill(
    session: Session,
    series: RecurringSeries,
    now: datetime,
    horizon: datetime,
    bounds: RecurrenceBounds,
    quotas: Quotas | None,
) -> None:
    after = max(series.last_occurrence_at or now - CATCH_UP, now - CATCH_UP)
    series.next_occurrence_at = None
    session.add(series)
    rule = rule_of(series, bounds)
    if rule is None:
        series.is_active = False
        return
    try:
        for count, occurrence in enumerate(rule.occurrences_after(after)):
            if occurrence.utc > horizon or count >= MAX_PER_SERIES:
                series.next_occurrence_at = occurrence.utc
                return
            materialise(session, series, occurrence, bounds, quotas)
    except QuotaExceeded as exc:
        # The owner is at their task quota: stop here rather than fail every pass.
        _stop(session, series, exc.detail)
        return
    except StepBudgetExhausted:
        # Nothing within one budget of the last occurrence: a rule that (nearly) never
        # matches again. Retrying every pass would only burn the same steps.
        log.warning("series %s: no further occurrence within the step budget", series.id)
    # The rule ran out (UNTIL or COUNT reached): the series is finished.
    series.is_active = False
