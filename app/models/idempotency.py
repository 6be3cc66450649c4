"""Stored responses of POSTs made with an Idempotency-Key."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from app.db import UTCDateTime, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("owner_id", "key", name="uq_idempotency_owner_key"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE")
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status_code: int
    response_body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    response_headers: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
