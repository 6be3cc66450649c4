"""The in-app notification inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import AnyHttpUrl
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_notification_owner_created", "owner_id", "created_at"),
        sa.Index("ix_notification_owner_unread", "owner_id", "read_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    task_id: uuid.UUID | None = Field(default=None)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=300)
    body: str = Field(default="", sa_type=sa.Text)
    # The event that produced it: redelivery of that event cannot create a second row.
    source_event_id: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Read notifications expire by read_at across all owners (app/retention.py).
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class NotificationPublic(SQLModel):
    id: uuid.UUID
    task_id: uuid.UUID | None
    kind: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(SQLModel):
    items: list[NotificationPublic]
    total: int
    page: int
    page_size: int
    next_cursor: str | None = None


class UnreadCount(SQLModel):
    unread: int


class MarkedRead(SQLModel):
    marked: int


class WebhookConfig(SQLModel):
    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=255)


class WebhookPublic(SQLModel):
    url: str | None
    configured: bool
