"""Tasks, tags, and the API shapes for them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlmodel import JSON, Column, Field, SQLModel

from app.db import UTCDateTime, utcnow
from app.models.durations import ReminderOffset, normalise_reminders
from app.models.enums import Priority, TaskStatus
from app.models.instants import DUE_RANGE, DueInstant
from app.models.text import storable

MAX_TAGS = 20
MAX_REMINDERS = 10


def _normalise_tag(name: str) -> str:
    return " ".join(name.split()).lower()


# No "/": a tag is addressed as /tags/{name}, and a slash (even as %2F) would route elsewhere,
# leaving such a tag impossible to delete.
TagName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^/]+$"),
    AfterValidator(storable),
    AfterValidator(_normalise_tag),
]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(storable),
]
Description = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(storable)]


class Task(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("series_id", "occurrence_at", name="uq_task_series_occurrence"),
        sa.Index("ix_task_owner_status", "owner_id", "status"),
        sa.Index("ix_task_owner_priority", "owner_id", "priority_rank"),
        sa.Index("ix_task_owner_due", "owner_id", "due_at"),
        sa.Index("ix_task_owner_created", "owner_id", "created_at"),
        sa.Index("ix_task_owner_updated", "owner_id", "updated_at"),
        sa.Index("ix_task_owner_title", "owner_id", "title"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=sa.Text)
    status: str = Field(default=TaskStatus.todo.value, max_length=16)
    priority_rank: int = Field(default=Priority.medium.rank)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    series_id: uuid.UUID | None = Field(
        default=None, foreign_key="recurringseries.id", ondelete="SET NULL", index=True
    )
    occurrence_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)

    @property
    def priority(self) -> Priority:
        return Priority.from_rank(self.priority_rank)


class Tag(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("owner_id", "name", name="uq_tag_owner_name"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=50)


class TaskTag(SQLModel, table=True):
    task_id: uuid.UUID = Field(foreign_key="task.id", primary_key=True, ondelete="CASCADE")
    tag_id: uuid.UUID = Field(
        foreign_key="tag.id", primary_key=True, ondelete="CASCADE", index=True
    )


class _TaskFields(SQLModel):
    @field_validator("tags", mode="after", check_fields=False)
    @classmethod
    def _unique_tags(cls, tags: list[str] | None) -> list[str] | None:
        return sorted(set(tags)) if tags is not None else None

    @field_validator("reminders", mode="after", check_fields=False)
    @classmethod
    def _unique_reminders(cls, reminders: list[str] | None) -> list[str] | None:
        return normalise_reminders(reminders) if reminders is not None else None


class TaskCreate(_TaskFields):
    title: Title
    description: Description = ""
    status: TaskStatus = TaskStatus.todo
    priority: Priority = Priority.medium
    tags: list[TagName] = Field(default_factory=list, max_length=MAX_TAGS)
    due_at: DueInstant | None = Field(default=None, description=f"Timezone-aware, {DUE_RANGE}.")
    reminders: list[ReminderOffset] = Field(default_factory=list, max_length=MAX_REMINDERS)


class TaskUpdate(_TaskFields):
    # Only due_at can be cleared; the others may be omitted but not null, and the OpenAPI
    # schema says so (SkipJsonSchema keeps null out of it).
    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    status: TaskStatus | SkipJsonSchema[None] = None
    priority: Priority | SkipJsonSchema[None] = None
    tags: list[TagName] | SkipJsonSchema[None] = Field(default=None, max_length=MAX_TAGS)
    due_at: DueInstant | None = Field(default=None, description=f"Timezone-aware, {DUE_RANGE}.")
    reminders: list[ReminderOffset] | SkipJsonSchema[None] = Field(
        default=None, max_length=MAX_REMINDERS
    )

    @field_validator(
        "title", "status", "priority", "description", "tags", "reminders", mode="before"
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class TaskPublic(SQLModel):
    id: uuid.UUID
    title: str
    description: str
    status: TaskStatus
    priority: Priority
    tags: list[str]
    due_at: datetime | None
    reminders: list[str]
    series_id: uuid.UUID | None
    occurrence_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class TaskPage(SQLModel):
    items: list[TaskPublic]
    total: int = Field(description="Tasks matching; at least this many when total_exact is false.")
    total_exact: bool = Field(
        description="False when more than 10,000 tasks match and counting stopped there."
    )
    page: int
    page_size: int
    next_cursor: str | None


class TagPublic(SQLModel):
    name: str
    task_count: int


class TagCreate(SQLModel):
    name: TagName
