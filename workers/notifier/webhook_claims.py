"""Claiming due webhook calls fairly across users, and recording how each one went."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.db import utcnow
from app.models.webhook import WebhookDelivery

log = logging.getLogger(__name__)

MAX_WEBHOOK_ATTEMPTS = 8


def _pending() -> list[sa.ColumnElement[bool]]:
    return [
        col(WebhookDelivery.delivered_at).is_(None),
        col(WebhookDelivery.gave_up_at).is_(None),
    ]


def claim_fairly(
    engine: Engine,
    *,
    limit: int,
    per_user: int,
    in_flight: Mapping[uuid.UUID, int],
    lease: timedelta,
) -> list[WebhookDelivery]:
    """Up to `limit` due calls, round-robin across users (every user's oldest before anyone's
    second), none for a user who already has `per_user` in flight here.

    Each is leased by a conditional update, so two notifiers never both claim one; the
    caller starts every claimed call at once, so the lease only has to outlast one call.
    """
    now = utcnow()
    saturated = [owner for owner, count in in_flight.items() if count >= per_user]
    rank = (
        func.row_number()
        .over(
            partition_by=col(WebhookDelivery.owner_id),
            order_by=(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id)),
        )
        .label("rank")
    )
    due = (
        select(col(WebhookDelivery.id), col(WebhookDelivery.owner_id), rank)
        .where(
            *_pending(),
            col(WebhookDelivery.next_attempt_at) <= now,
            col(WebhookDelivery.owner_id).not_in(saturated),
        )
        .subquery()
    )
    with Session(engine, expire_on_commit=False) as session:
        candidates = session.exec(
            select(due.c.id, due.c.owner_id)
            .where(due.c.rank <= per_user)
            .order_by(due.c.rank, due.c.id)
            .limit(limit)
        ).all()
        taken: Counter[uuid.UUID] = Counter(in_flight)
        claimed: list[uuid.UUID] = []
        for delivery_id, owner_id in candidates:
            if taken[owner_id] >= per_user:
                continue
            won = session.execute(
                sa.update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.id) == delivery_id,
                    *_pending(),
                    col(WebhookDelivery.next_attempt_at) <= now,
                )
                .values(next_attempt_at=now + lease)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(delivery_id)
                taken[owner_id] += 1
        session.commit()
        if not claimed:
            return []
        return list(
            session.exec(select(WebhookDelivery).where(col(WebhookDelivery.id).in_(claimed)))
        )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 2**attempts))


def record_outcome(
    engine: Engine, delivery_id: uuid.UUID, error: str | None, *, give_up: bool = False
) -> None:
    """Mark the call delivered, or schedule its retry (giving up after the last attempt)."""
    with Session(engine) as session:
        row = session.get(WebhookDelivery, delivery_id)
        if row is None:
            return
        now = utcnow()
        if error is None:
            row.delivered_at = now
        else:
            row.attempts += 1
            row.last_error = error[:2000]
            row.next_attempt_at = now + _backoff(row.attempts)
            if give_up or row.attempts >= MAX_WEBHOOK_ATTEMPTS:
                row.gave_up_at = now
            log.info("webhook delivery %s failed (%s), attempt %d", row.id, error, row.attempts)
        session.add(row)
        session.commit()
