"""Users who own tasks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import EmailStr
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
# RFC 5321's limit on a whole address, which EmailStr enforces too.
MAX_EMAIL_LENGTH = 254


class User(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    webhook_url: str | None = Field(default=None, max_length=2048)
    # Sealed with the settings' webhook key (app.sealing), never stored in the clear.
    webhook_secret_sealed: str | None = Field(default=None, max_length=512)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # How many tasks the user has, kept by the database's triggers (migration 0007) on every
    # insert and delete of a task, whoever makes it; never written by the application. The
    # quota check reads it with the user the request already loaded (app.services.quota_checks).
    task_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserCreate(SQLModel):
    email: EmailStr
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class UserPublic(SQLModel):
    id: uuid.UUID
    email: str
    created_at: datetime


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int
