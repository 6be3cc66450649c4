"""The relay process owns retention: it sweeps expired rows while it serves."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import utcnow
from app.events.relay_app import create_relay_app
from app.models import InboxEntry
from app.settings import Settings
from tests.support.waiting import wait_until


def _inbox_is_empty(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.exec(select(InboxEntry)).first() is None


def test_the_relay_process_deletes_rows_past_their_window(
    database_url: str, engine: Engine
) -> None:
    settings = Settings(
        environment="test",
        database_url=database_url,
        event_bus="dapr",
    )
    expired = utcnow() - timedelta(days=settings.inbox_retention_days + 1)
    with Session(engine) as session:
        session.add(InboxEntry(consumer="c", event_id="e", topic="t", processed_at=expired))
        session.commit()
    # Retention's first round runs as the relay starts.
    with TestClient(create_relay_app(settings, engine)):
        wait_until(lambda: _inbox_is_empty(engine), timeout=15, what="retention in the relay")
