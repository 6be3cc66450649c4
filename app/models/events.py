"""Event plumbing tables: the outbox, the consumers' inbox, reminder schedule, dead letters."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from app import tracing
from app.db import UTCDateTime, utcnow

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class OutboxEvent(SQLModel, table=True):
    """An event written in the same transaction as the change it describes."""

    __table_args__ = (
        sa.Index("ix_outbox_pending", "published_at", "id"),
        sa.Index("ix_outbox_aggregate", "aggregate_id", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, unique=True)
    topic: str = Field(max_length=100)
    event_type: str = Field(max_length=100)
    aggregate_id: uuid.UUID
    owner_id: uuid.UUID
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    # W3C trace context of the span that wrote the row (None when tracing is off); the
    # relay publishes the event as a child of it (app/tracing.py).
    traceparent: str | None = Field(
        default_factory=lambda: tracing.current_context()[0], max_length=55
    )
    tracestate: str | None = Field(
        default_factory=lambda: tracing.current_context()[1], max_length=512
    )


class InboxEntry(SQLModel, table=True):
    """A consumed event: its presence makes a redelivery a no-op for that consumer."""

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=64)
    topic: str = Field(max_length=100)
    # Retention deletes by age (app/retention.py): an index, not a scan of every event seen.
    processed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class ScheduledReminder(SQLModel, table=True):
    """One reminder of one task, kept in step with the task by the notifier."""

    __table_args__ = (
        sa.UniqueConstraint("task_id", "offset", name="uq_reminder_task_offset"),
        sa.Index("ix_reminder_due", "state", "remind_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    task_id: uuid.UUID = Field(index=True)
    owner_id: uuid.UUID
    offset: str = Field(max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime)
    remind_at: datetime = Field(sa_type=UTCDateTime)
    task_title: str = Field(max_length=200)
    state: str = Field(default="pending", max_length=16)
    task_version: int = Field(default=0)
    claimed_by: str | None = Field(default=None, max_length=100)
    fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The trace of the change that scheduled (or re-armed) it; firing continues that trace.
    traceparent: str | None = Field(
        default_factory=lambda: tracing.current_context()[0], max_length=55
    )
    tracestate: str | None = Field(
        default_factory=lambda: tracing.current_context()[1], max_length=512
    )


class DeadLetter(SQLModel, table=True):
    """An event a consumer refused for good, kept for inspection and replay."""

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    consumer: str = Field(max_length=100)
    topic: str = Field(max_length=100)
    event_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(sa_type=sa.Text)
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
