"""Recurring series: validation, materialising occurrences, previews."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime
from itertools import islice

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.db import utcnow
from app.errors import NotFound, invalid_field
from app.models.enums import SeriesMode, TaskStatus
from app.models.series import (
    Occurrence,
    RecurringSeries,
    SeriesCreate,
    SeriesPublic,
    SeriesUpdate,
)
from app.models.task import Task, TaskCreate
from app.quotas import Quotas, RecurrenceBounds
from app.services.quota_checks import check_series
from app.services.recurrence import Occurrence as RuleOccurrence
from app.services.recurrence import (
    RecurrenceError,
    RecurrenceRule,
    StepBudgetExhausted,
    parse_rule,
)
from app.services.series_rules import validated_rule
from app.services.tasks import create_task

log = logging.getLogger(__name__)


def rule_of(series: RecurringSeries, bounds: RecurrenceBounds) -> RecurrenceRule | None:
    """The stored series' rule; None if it no longer parses (stricter checks, new settings)."""
    try:
        return parse_rule(series.rrule, series.timezone, series.start, bounds)
    except RecurrenceError as exc:
        log.warning("series %s has an unusable rule: %s", series.id, exc)
        return None


def _take(occurrences: Iterator[RuleOccurrence], count: int) -> list[RuleOccurrence]:
    """Up to `count` occurrences, fewer if the expansion's step budget runs out first."""
    taken: list[RuleOccurrence] = []
    with suppress(StepBudgetExhausted):
        taken.extend(islice(occurrences, count))
    return taken


def get_series(
    session: Session, owner_id: uuid.UUID, series_id: uuid.UUID, *, lock: bool = False
) -> RecurringSeries:
    query = select(RecurringSeries).where(
        RecurringSeries.id == series_id, RecurringSeries.owner_id == owner_id
    )
    if lock:
        query = query.with_for_update()
    series = session.exec(query).first()
    if series is None:
        raise NotFound(f"No recurring series {series_id}.")
    return series


def materialise(
    session: Session,
    series: RecurringSeries,
    occurrence: RuleOccurrence,
    bounds: RecurrenceBounds | None = None,
    quotas: Quotas | None = None,
) -> Task | None:
    """Create the task for one occurrence; None if it already exists (unique per series+time).

    An occurrence closer than the minimum spacing to the last one materialised is skipped:
    the spacing is checked over a new series' first occurrences, and again here for the
    rest (DST changes can bring two local times close).
    """
    last = series.last_occurrence_at
    spacing = (bounds or RecurrenceBounds()).min_spacing
    if last is not None and last < occurrence.utc < last + spacing:
        return None
    data = TaskCreate(
        title=series.title,
        description=series.description,
        priority=series.priority,
        tags=list(series.tags),
        due_at=occurrence.utc,
        reminders=list(series.reminders),
    )
    try:
        with session.begin_nested():
            task = create_task(
                session,
                owner_id=series.owner_id,
                data=data,
                series_id=series.id,
                occurrence_at=occurrence.utc,
                quotas=quotas,
            )
    except IntegrityError:
        return None
    series.materialised_count += 1
    if series.last_occurrence_at is None or occurrence.utc > series.last_occurrence_at:
        series.last_occurrence_at = occurrence.utc
    session.add(series)
    return task


def create_series(
    session: Session,
    *,
    owner_id: uuid.UUID,
    data: SeriesCreate,
    bounds: RecurrenceBounds | None = None,
    quotas: Quotas | None = None,
) -> RecurringSeries:
    check_series(session, owner_id, quotas or Quotas())
    now = utcnow()
    # A start in the past begins the series with its next occurrence, not with backlog.
    rule, first = validated_rule(data, now, bounds or RecurrenceBounds())
    series = RecurringSeries(
        owner_id=owner_id,
        title=data.title,
        description=data.description,
        priority_rank=data.priority.rank,
        tags=list(data.tags),
        rrule=rule.body,
        timezone=data.timezone,
        start=rule.start,
        mode=data.mode.value,
        reminders=list(data.reminders),
        created_at=now,
        updated_at=now,
    )
    session.add(series)
    session.flush()
    materialise(session, series, first, bounds, quotas)
    return series


def update_series(
    session: Session, *, series: RecurringSeries, data: SeriesUpdate
) -> RecurringSeries:
    changes = data.model_dump(exclude_unset=True)
    for field, value in changes.items():
        if value is None:
            raise invalid_field(field, "may be omitted but not null")
        if field == "priority":
            series.priority_rank = data.priority.rank if data.priority else series.priority_rank
        else:
            setattr(series, field, value)
    if changes:
        series.updated_at = utcnow()
        series.version += 1
        session.add(series)
    return series


def upcoming(
    series: RecurringSeries, after: datetime, count: int, bounds: RecurrenceBounds
) -> list[RuleOccurrence]:
    """The next `count` occurrences after an instant, as many as one step budget finds."""
    rule = rule_of(series, bounds)
    return _take(rule.occurrences_after(after), count) if rule is not None else []


def preview(
    series: RecurringSeries,
    count: int,
    now: datetime | None = None,
    bounds: RecurrenceBounds | None = None,
) -> list[Occurrence]:
    found = upcoming(series, now or utcnow(), count, bounds or RecurrenceBounds())
    return [Occurrence(local=o.local, utc=o.utc) for o in found]


def next_due_at(
    session: Session, series: RecurringSeries, bounds: RecurrenceBounds | None = None
) -> datetime | None:
    """The earliest open occurrence's due time, else the next one the rule will produce."""
    open_due = session.exec(
        select(func.min(col(Task.due_at))).where(
            Task.series_id == series.id, Task.status != TaskStatus.done.value
        )
    ).one()
    if open_due is not None:
        return open_due
    if not series.is_active or series.mode == SeriesMode.after_completion:
        return None
    after = series.last_occurrence_at or utcnow()
    found = upcoming(series, after, 1, bounds or RecurrenceBounds())
    return found[0].utc if found else None


def to_public(
    session: Session, series: RecurringSeries, bounds: RecurrenceBounds | None = None
) -> SeriesPublic:
    return SeriesPublic(
        id=series.id,
        title=series.title,
        description=series.description,
        priority=series.priority,
        tags=list(series.tags),
        rrule=series.rrule,
        timezone=series.timezone,
        start=series.start,
        mode=SeriesMode(series.mode),
        reminders=list(series.reminders),
        is_active=series.is_active,
        next_due_at=next_due_at(session, series, bounds),
        created_at=series.created_at,
        updated_at=series.updated_at,
        version=series.version,
    )


def list_series(
    session: Session, owner_id: uuid.UUID, page: int, page_size: int
) -> tuple[list[RecurringSeries], int]:
    total = session.exec(
        select(func.count())
        .select_from(RecurringSeries)
        .where(RecurringSeries.owner_id == owner_id)
    ).one()
    rows = session.exec(
        select(RecurringSeries)
        .where(RecurringSeries.owner_id == owner_id)
        .order_by(col(RecurringSeries.created_at).desc(), col(RecurringSeries.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), total


def delete_series(session: Session, *, series: RecurringSeries) -> None:
    """Delete the series; its occurrences stay as ordinary tasks."""
    session.delete(series)
