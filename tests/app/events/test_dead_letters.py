"""Dead-letter operations: select, replay through the outbox, discard."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.contract import NOTIFIER, RECURRER, REMINDERS, TASK_EVENTS
from app.db import utcnow
from app.events.cloudevent import envelope_of
from app.events.dead_letters import Selection, discard, parse_age, replay, select_dead_letters
from app.models.events import DeadLetter, OutboxEvent
from tests.support.dead_letters import outbox_rows, refuse, sent_event

RETENTION = timedelta(days=14)


def _letters(engine: Engine) -> list[DeadLetter]:
    with Session(engine) as session:
        return list(session.exec(select(DeadLetter).order_by(col(DeadLetter.id))))


def test_a_replay_puts_the_original_outbox_row_back_and_clears_every_copy_of_it(
    engine: Engine,
) -> None:
    row = sent_event(engine)
    first = refuse(engine, row, NOTIFIER.app_id)
    refuse(engine, row, RECURRER.app_id)
    other = refuse(engine, sent_event(engine), NOTIFIER.app_id)

    with Session(engine) as session:
        report = replay(session, Selection(ids=(first,)), inbox_retention=RETENTION)

    assert report.requeued == [str(row.event_id)]
    assert not report.rebuilt
    assert not report.skipped
    # Both consumers receive it again, so the recurrer's copy is superseded too.
    assert report.cleared == 2
    assert [d.id for d in _letters(engine)] == [other], "the unselected event was touched"
    (queued,) = outbox_rows(engine, row.event_id)
    assert queued.id == row.id, "a second outbox row would repeat the task's history"
    assert queued.published_at is None
    assert queued.attempts == 0
    assert queued.last_error is None


def test_a_replay_rebuilds_the_outbox_row_that_retention_removed(engine: Engine) -> None:
    row = sent_event(engine)
    refuse(engine, row, NOTIFIER.app_id)
    with Session(engine) as session:
        session.execute(sa.delete(OutboxEvent).where(col(OutboxEvent.id) == row.id))
        session.commit()

    with Session(engine) as session:
        report = replay(session, Selection(topic=TASK_EVENTS.name), inbox_retention=RETENTION)

    assert report.rebuilt == [str(row.event_id)]
    assert report.cleared == 1
    (rebuilt,) = outbox_rows(engine, row.event_id)
    assert rebuilt.published_at is None
    assert (rebuilt.topic, rebuilt.event_type, rebuilt.aggregate_id, rebuilt.owner_id) == (
        row.topic,
        row.event_type,
        row.aggregate_id,
        row.owner_id,
    )
    assert rebuilt.payload == row.payload


@pytest.mark.parametrize(
    ("event_id", "body", "reason"),
    [
        (None, "\xff not json at all", "not a CloudEvent"),
        (None, json.dumps({"marker": "from a foreign producer"}), "not a CloudEvent"),
        ("poison-1", json.dumps({"id": "poison-1", "type": "task.created"}), "not one the outbox"),
        (
            str(uuid.uuid4()),
            json.dumps({"id": "x", "type": "task.created", "data": {"schema_version": 999}}),
            "names no task_id",
        ),
    ],
)
def test_what_cannot_be_replayed_stays_a_dead_letter_with_the_reason(
    engine: Engine, event_id: str | None, body: str, reason: str
) -> None:
    with Session(engine) as session:
        session.add(
            DeadLetter(
                consumer=NOTIFIER.app_id,
                topic=TASK_EVENTS.name,
                event_id=event_id,
                reason="envelope",
                body=body,
            )
        )
        session.commit()

    with Session(engine) as session:
        report = replay(session, Selection(consumer=NOTIFIER.app_id), inbox_retention=RETENTION)

    assert not report.requeued
    assert not report.rebuilt
    assert report.cleared == 0
    (why,) = report.skipped.values()
    assert reason in why
    assert len(_letters(engine)) == 1


def test_a_dead_letter_from_an_unknown_topic_is_not_replayed(engine: Engine) -> None:
    row = sent_event(engine)
    with Session(engine) as session:
        session.add(
            DeadLetter(
                consumer=NOTIFIER.app_id,
                topic="someone-elses-topic",
                event_id=str(row.event_id),
                reason="unsubscribed",
                body=envelope_of(row).model_dump_json(),
            )
        )
        session.commit()

    with Session(engine) as session:
        report = replay(session, Selection(consumer=NOTIFIER.app_id), inbox_retention=RETENTION)

    assert "not one the relay publishes to" in next(iter(report.skipped.values()))
    assert outbox_rows(engine, row.event_id)[0].published_at is not None


def test_an_event_older_than_the_inbox_retention_needs_force(engine: Engine) -> None:
    row = sent_event(engine)
    with Session(engine) as session:
        session.execute(
            sa.update(OutboxEvent)
            .where(col(OutboxEvent.id) == row.id)
            .values(created_at=utcnow() - timedelta(days=20))
        )
        session.commit()
    refuse(engine, row, NOTIFIER.app_id)

    with Session(engine) as session:
        refused = replay(session, Selection(topic=TASK_EVENTS.name), inbox_retention=RETENTION)
    with Session(engine) as session:
        forced = replay(
            session, Selection(topic=TASK_EVENTS.name), inbox_retention=RETENTION, force=True
        )

    assert "older than the inbox retention" in next(iter(refused.skipped.values()))
    assert forced.requeued == [str(row.event_id)]
    assert not forced.skipped


def test_filters_select_by_topic_consumer_and_age_and_all_must_hold(engine: Engine) -> None:
    row = sent_event(engine)
    old = refuse(engine, row, NOTIFIER.app_id, age=timedelta(days=3))
    new = refuse(engine, row, RECURRER.app_id)

    def ids(selection: Selection) -> list[int | None]:
        with Session(engine) as session:
            return [d.id for d in select_dead_letters(session, selection)]

    assert ids(Selection(older_than=timedelta(days=1))) == [old]
    assert ids(Selection(newer_than=timedelta(days=1))) == [new]
    assert ids(Selection(consumer=RECURRER.app_id)) == [new]
    assert ids(Selection(topic=REMINDERS.name)) == []
    assert ids(Selection(consumer=NOTIFIER.app_id, newer_than=timedelta(days=1))) == []


def test_discard_removes_only_the_selection_and_refuses_to_empty_everything(
    engine: Engine,
) -> None:
    row = sent_event(engine)
    gone = refuse(engine, row, NOTIFIER.app_id)
    kept = refuse(engine, row, RECURRER.app_id)

    with Session(engine) as session:
        with pytest.raises(ValueError, match="ids or at least one filter"):
            discard(session, Selection())
        assert discard(session, Selection(ids=(gone,))) == 1

    assert [d.id for d in _letters(engine)] == [kept]


def test_replay_without_a_selection_is_refused(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="at least one filter"):
        replay(session, Selection(), inbox_retention=RETENTION)


@pytest.mark.parametrize("text", ["7", "d", "-1d", "1.5h", "3w", "9999999d", ""])
def test_an_unreadable_age_is_refused_with_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="use a whole number"):
        parse_age(text)


def test_ages_read_in_seconds_minutes_hours_and_days() -> None:
    assert [parse_age(t) for t in ("90s", "15m", "12h", "7d")] == [
        timedelta(seconds=90),
        timedelta(minutes=15),
        timedelta(hours=12),
        timedelta(days=7),
    ]
