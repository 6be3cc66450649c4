"""Recurring series: an RRULE in a timezone that materialises tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import BaseModel, WithJsonSchema, model_validator
from sqlmodel import JSON, Column, Field, SQLModel

from app.db import UTCDateTime, utcnow
from app.models.durations import ReminderOffset
from app.models.enums import Priority, SeriesMode
from app.models.task import MAX_REMINDERS, MAX_TAGS, Description, TagName, Title, _TaskFields


class RecurringSeries(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    priority_rank: int = Field(default=Priority.medium.rank)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rrule: str = Field(max_length=1000)
    timezone: str = Field(max_length=64)
    start: datetime = Field(sa_type=sa.DateTime(timezone=False))
    mode: str = Field(default=SeriesMode.schedule.value, max_length=32)
    reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = Field(default=True, index=True)
    materialised_count: int = Field(default=0)
    last_occurrence_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The next occurrence a scheduled series still has to materialise (None: not yet known).
    next_occurrence_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)

    @property
    def priority(self) -> Priority:
        return Priority.from_rank(self.priority_rank)


class Preset(BaseModel):
    """Sugar over RRULE for the common cases."""

    frequency: Literal["daily", "weekly", "monthly", "yearly"]
    interval: int = Field(default=1, ge=1, le=1000)

    def to_rrule(self) -> str:
        return f"FREQ={self.frequency.upper()};INTERVAL={self.interval}"


class SeriesCreate(_TaskFields):
    title: Title
    description: Description = ""
    priority: Priority = Priority.medium
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS)
    rrule: str | None = Field(default=None, max_length=1000)
    preset: Preset | None = None
    timezone: str = Field(default="UTC", max_length=64)
    start: datetime
    mode: SeriesMode = SeriesMode.schedule
    reminders: list[ReminderOffset] = Field(default_factory=list, max_length=MAX_REMINDERS)

    @model_validator(mode="after")
    def _rule_or_preset(self) -> SeriesCreate:
        if (self.rrule is None) == (self.preset is None):
            raise ValueError("give exactly one of rrule or preset")
        return self


class SeriesUpdate(_TaskFields):
    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None
    tags: list[TagName] | None = Field(default=None, max_length=MAX_TAGS)
    reminders: list[ReminderOffset] | None = Field(default=None, max_length=MAX_REMINDERS)
    is_active: bool | None = None


# A wall time in the series' zone has no offset, which format date-time would require.
LocalWallTime = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
            "description": "Local wall time in the series' timezone, ISO 8601 without offset.",
        }
    ),
]


class SeriesPublic(SQLModel):
    id: uuid.UUID
    title: str
    description: str
    priority: Priority
    tags: list[str]
    rrule: str
    timezone: str
    start: LocalWallTime
    mode: SeriesMode
    reminders: list[str]
    is_active: bool
    next_due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class SeriesPage(SQLModel):
    items: list[SeriesPublic]
    total: int
    page: int
    page_size: int
    next_cursor: str | None = None


class Occurrence(SQLModel):
    local: datetime
    utc: datetime


class OccurrencePreview(SQLModel):
    occurrences: list[Occurrence]
