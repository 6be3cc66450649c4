"""Outbound webhook deliveries, retried with backoff apart from the in-app inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from app.db import UTCDateTime, utcnow


class WebhookDelivery(SQLModel, table=True):
    __table_args__ = (sa.Index("ix_webhook_pending", "delivered_at", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    # One delivery per source event: a redelivered event cannot queue a second call.
    source_event_id: str = Field(max_length=64, unique=True)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    gave_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
