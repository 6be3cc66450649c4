"""Rows for tests that work below the HTTP layer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models.task import Task, TaskCreate
from app.models.user import User
from app.sealing import seal
from app.services.tasks import create_task
from app.settings import PLACEHOLDER_WEBHOOK_SECRET_KEY


def make_user(engine: Engine, email: str | None = None, webhook: str | None = None) -> uuid.UUID:
    with Session(engine) as session:
        user = User(
            email=email or f"{uuid.uuid4().hex[:8]}@example.com",
            password_hash="not-a-real-hash",
            webhook_url=webhook,
        )
        if webhook:
            user.webhook_secret_sealed = seal(
                PLACEHOLDER_WEBHOOK_SECRET_KEY, "w" * 20, user.id.bytes
            )
        session.add(user)
        session.commit()
        return user.id


def make_task(
    engine: Engine,
    owner: uuid.UUID,
    title: str = "task",
    due_at: datetime | None = None,
    reminders: list[str] | None = None,
) -> Task:
    with Session(engine, expire_on_commit=False) as session:
        task = create_task(
            session,
            owner_id=owner,
            data=TaskCreate(title=title, due_at=due_at, reminders=reminders or []),
        )
        session.commit()
        return task
