"""Recurring series: validation, materialising occurrences, previews."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
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
from app.services.recurrence import Occurrence as RuleOccurrence
from app.services.recurrence import RecurrenceError, RecurrenceRule, parse_rule
from app.services.tasks import create_task


def rule_of(series: RecurringSeries) -> RecurrenceRule:
    return parse_rule(series.rrule, series.timezone, series.start)


def _validated_rule(data: SeriesCreate) -> RecurrenceRule:
    body = data.preset.to_rrule() if data.preset is not None else data.rrule
    assert body is not None
    field = "preset" if data.preset is not None else "rrule"
    try:
        rule = parse_rule(body, data.timezone, data.start)
    except RecurrenceError as exc:
        bad = "timezone" if "timezone" in str(exc) else field
        raise invalid_field(bad, str(exc)) from exc
    return rule


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
    session: Session, series: RecurringSeries, occurrence: RuleOccurrence
) -> Task | None:
    """Create the task for one occurrence; None if it already exists (unique per series+time)."""
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
            )
    except IntegrityError:
        return None
    series.materialised_count += 1
    if series.last_occurrence_at is None or occurrence.utc > series.last_occurrence_at:
        series.last_occurrence_at = occurrence.utc
    session.add(series)
    return task


def create_series(session: Session, *, owner_id: uuid.UUID, data: SeriesCreate) -> RecurringSeries:
    rule = _validated_rule(data)
    now = utcnow()
    # A start in the past begins the series with its next occurrence, not with backlog.
    first = next(rule.occurrences_after(now), None)
    if first is None:
        raise invalid_field("rrule", "This rule produces no occurrence from now on.")
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
    materialise(session, series, first)
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


def upcoming(series: RecurringSeries, after: datetime) -> Iterator[RuleOccurrence]:
    return rule_of(series).occurrences_after(after)


def preview(series: RecurringSeries, count: int, now: datetime | None = None) -> list[Occurrence]:
    moment = now or utcnow()
    return [Occurrence(local=o.local, utc=o.utc) for o in islice(upcoming(series, moment), count)]


def next_due_at(session: Session, series: RecurringSeries) -> datetime | None:
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
    upcoming_occurrence = next(upcoming(series, after), None)
    return upcoming_occurrence.utc if upcoming_occurrence else None


def to_public(session: Session, series: RecurringSeries) -> SeriesPublic:
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
        next_due_at=next_due_at(session, series),
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
