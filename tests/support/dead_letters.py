"""Dead letters as a consumer leaves them, for the operations' and the command line's tests."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import utcnow
from app.events.cloudevent import envelope_of
from app.models.events import DeadLetter, OutboxEvent
from tests.support.factories import make_task, make_user


def sent_event(engine: Engine) -> OutboxEvent:
    """A task's creation event, already published by the relay."""
    task = make_task(engine, make_user(engine))
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(select(OutboxEvent).where(OutboxEvent.aggregate_id == task.id)).one()
        row.published_at = utcnow()
        row.attempts = 2
        row.last_error = "HTTP 500 once"
        session.add(row)
        session.commit()
        return row


def refuse(engine: Engine, row: OutboxEvent, consumer: str, *, age: timedelta | None = None) -> int:
    """A consumer's dead letter of `row`, with the body daprd delivered."""
    body = envelope_of(row).model_dump_json()
    with Session(engine) as session:
        letter = DeadLetter(
            consumer=consumer,
            topic=row.topic,
            event_id=str(row.event_id),
            reason="permanent: the handler refused it",
            body=body,
        )
        if age is not None:
            letter.created_at = utcnow() - age
        session.add(letter)
        session.commit()
        assert letter.id is not None
        return letter.id


def outbox_rows(engine: Engine, event_id: uuid.UUID) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).where(OutboxEvent.event_id == event_id)))
