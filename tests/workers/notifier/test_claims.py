"""The claimer's wait: it sleeps until the next reminder is due, bounded by its poll."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import utcnow
from app.models.events import ScheduledReminder
from tests.support.factories import make_user
from workers.notifier import claims


def _schedule(engine: Engine, in_seconds: float) -> datetime:
    at = utcnow() + timedelta(seconds=in_seconds)
    with Session(engine) as session:
        session.add(
            ScheduledReminder(
                task_id=uuid.uuid4(),
                owner_id=make_user(engine),
                offset="PT0S",
                due_at=at,
                remind_at=at,
                task_title="soon",
            )
        )
        session.commit()
    return at


def test_nothing_pending_means_no_next_due_time(engine: Engine) -> None:
    assert claims.seconds_until_next_due(engine) is None


def test_the_next_due_time_is_the_earliest_pending_one(engine: Engine) -> None:
    _schedule(engine, 30)
    _schedule(engine, 3)
    assert 1.5 < (claims.seconds_until_next_due(engine) or 0) <= 3
    _schedule(engine, -1)
    assert claims.seconds_until_next_due(engine) == 0
    assert claims.claim_due_reminders(engine, "me") == 1
    assert 1.5 < (claims.seconds_until_next_due(engine) or 0) <= 3, "fired ones no longer count"


def test_the_wait_ends_when_the_next_reminder_is_due(engine: Engine) -> None:
    # Judged against the due instant itself, so a slow insert on a loaded machine cannot
    # make the wait look early.
    due = _schedule(engine, 1.0)
    claims.wait_for_next_due(engine, longest=10)
    woke = utcnow()
    assert woke >= due - timedelta(milliseconds=50), f"woke {due - woke} before the reminder"
    assert woke - due < timedelta(seconds=2), f"woke {woke - due} after the reminder was due"


def test_the_wait_is_bounded_by_the_poll_interval_and_never_a_spin(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(claims.time, "sleep", slept.append)
    claims.wait_for_next_due(engine, longest=0.5)  # nothing pending
    _schedule(engine, 60)
    claims.wait_for_next_due(engine, longest=0.5)
    _schedule(engine, -5)  # due now, perhaps held by another replica
    claims.wait_for_next_due(engine, longest=0.5)
    assert slept == [0.5, 0.5, claims.SHORTEST_WAIT_SECONDS]
