"""Event payloads: the `data` of the CloudEvents on taskstream's topics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.contract import REMINDERS, TASK_EVENTS

TASK_EVENT_SCHEMA_VERSION: Literal[1] = 1
REMINDER_EVENT_SCHEMA_VERSION: Literal[1] = 1

TaskEventType = Literal[
    "task.created", "task.updated", "task.completed", "task.reopened", "task.deleted"
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TaskSnapshot(_Payload):
    """The task as it is after the change (before it, for a deletion)."""

    id: uuid.UUID
    title: str
    status: Literal["todo", "in_progress", "done"]
    priority: Literal["urgent", "high", "medium", "low"]
    tags: list[str]
    due_at: datetime | None
    reminders: list[str]
    series_id: uuid.UUID | None
    occurrence_at: datetime | None
    completed_at: datetime | None
    version: int


class TaskEvent(_Payload):
    """A mutation of a task, on the task-events topic."""

    schema_version: Literal[1] = TASK_EVENT_SCHEMA_VERSION
    event_type: TaskEventType
    task_id: uuid.UUID
    owner_id: uuid.UUID
    occurred_at: datetime
    changes: list[str] = Field(default_factory=list)
    task: TaskSnapshot


class ReminderDue(_Payload):
    """A reminder whose time has come, on the reminders topic."""

    schema_version: Literal[1] = REMINDER_EVENT_SCHEMA_VERSION
    event_type: Literal["reminder.due"] = "reminder.due"
    reminder_id: uuid.UUID
    task_id: uuid.UUID
    owner_id: uuid.UUID
    task_title: str
    offset: str
    due_at: datetime
    remind_at: datetime
    occurred_at: datetime


AnyEvent = Annotated[TaskEvent | ReminderDue, Field(discriminator="event_type")]

TOPIC_OF: dict[type[_Payload], str] = {TaskEvent: TASK_EVENTS.name, ReminderDue: REMINDERS.name}
