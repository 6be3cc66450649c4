"""Dead-letter operations: select, replay through the outbox, discard."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.cli import cli
from app.contract import ENV_DATABASE_URL, NOTIFIER, RECURRER, REMINDERS, TASK_EVENTS
from app.db import utcnow
from app.events.cloudevent import envelope_of
from app.events.dead_letters import Selection, discard, parse_age, replay, select_dead_letters
from app.models.events import DeadLetter, OutboxEvent
from app.settings import get_settings
from tests.support.factories import make_task, make_user

RETENTION = timedelta(days=14)


def _sent_event(engine: Engine) -> OutboxEvent:
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


def _refuse(
    engine: Engine, row: OutboxEvent, consumer: str, *, age: timedelta | None = None
) -> int:
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


def _letters(engine: Engine) -> list[DeadLetter]:
    with Session(engine) as session:
        return list(session.exec(select(DeadLetter).order_by(col(DeadLetter.id))))


def _outbox(engine: Engine, event_id: uuid.UUID) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).where(OutboxEvent.event_id == event_id)))


def test_a_replay_puts_the_original_outbox_row_back_and_clears_every_copy_of_it(
    engine: Engine,
) -> None:
    row = _sent_event(engine)
    first = _refuse(engine, row, NOTIFIER.app_id)
    _refuse(engine, row, RECURRER.app_id)
    other = _refuse(engine, _sent_event(engine), NOTIFIER.app_id)

    with Session(engine) as session:
        report = replay(session, Selection(ids=(first,)), inbox_retention=RETENTION)

    assert report.requeued == [str(row.event_id)]
    assert not report.rebuilt
    assert not report.skipped
    # Both consumers receive it again, so the recurrer's copy is superseded too.
    assert report.cleared == 2
    assert [d.id for d in _letters(engine)] == [other], "the unselected event was touched"
    (queued,) = _outbox(engine, row.event_id)
    assert queued.id == row.id, "a second outbox row would repeat the task's history"
    assert queued.published_at is None
    assert queued.attempts == 0
    assert queued.last_error is None


def test_a_replay_rebuilds_the_outbox_row_that_retention_removed(engine: Engine) -> None:
    row = _sent_event(engine)
    _refuse(engine, row, NOTIFIER.app_id)
    with Session(engine) as session:
        session.execute(sa.delete(OutboxEvent).where(col(OutboxEvent.id) == row.id))
        session.commit()

    with Session(engine) as session:
        report = replay(session, Selection(topic=TASK_EVENTS.name), inbox_retention=RETENTION)

    assert report.rebuilt == [str(row.event_id)]
    assert report.cleared == 1
    (rebuilt,) = _outbox(engine, row.event_id)
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
    row = _sent_event(engine)
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
    assert _outbox(engine, row.event_id)[0].published_at is not None


def test_an_event_older_than_the_inbox_retention_needs_force(engine: Engine) -> None:
    row = _sent_event(engine)
    with Session(engine) as session:
        session.execute(
            sa.update(OutboxEvent)
            .where(col(OutboxEvent.id) == row.id)
            .values(created_at=utcnow() - timedelta(days=20))
        )
        session.commit()
    _refuse(engine, row, NOTIFIER.app_id)

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
    row = _sent_event(engine)
    old = _refuse(engine, row, NOTIFIER.app_id, age=timedelta(days=3))
    new = _refuse(engine, row, RECURRER.app_id)

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
    row = _sent_event(engine)
    gone = _refuse(engine, row, NOTIFIER.app_id)
    kept = _refuse(engine, row, RECURRER.app_id)

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


# -- the command line ------------------------------------------------------------------


@pytest.fixture
def cli_database(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    monkeypatch.setenv(ENV_DATABASE_URL, database_url)
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def test_the_command_line_lists_replays_and_reports_what_it_kept(cli_database: Engine) -> None:
    row = _sent_event(cli_database)
    replayable = _refuse(cli_database, row, NOTIFIER.app_id)
    with Session(cli_database) as session:
        garbage = DeadLetter(
            consumer=RECURRER.app_id, topic=TASK_EVENTS.name, reason="envelope", body="{"
        )
        session.add(garbage)
        session.commit()
        garbage_id = garbage.id
    runner = CliRunner()

    listed = runner.invoke(cli, ["dlq", "list", "--topic", TASK_EVENTS.name])
    shown = runner.invoke(cli, ["dlq", "show", str(replayable)])
    replayed = runner.invoke(cli, ["dlq", "replay", "--topic", TASK_EVENTS.name])

    assert listed.exit_code == 0, listed.output
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
        str(replayable),
        str(garbage_id),
    ]
    assert shown.exit_code == 0
    assert str(row.event_id) in shown.stdout
    # A kept dead letter makes the exit code say so, for scripts.
    assert replayed.exit_code == 1, replayed.output
    assert "replayed 1 event(s) (1 from the outbox, 0 rebuilt)" in replayed.stdout
    assert f"kept {garbage_id}: the body is not a CloudEvent" in replayed.stderr
    assert _outbox(cli_database, row.event_id)[0].published_at is None


def test_the_command_line_refuses_a_bare_replay_and_a_bad_age(cli_database: Engine) -> None:
    runner = CliRunner()

    bare = runner.invoke(cli, ["dlq", "replay"])
    bad_age = runner.invoke(cli, ["dlq", "discard", "--older-than", "a week"])
    missing = runner.invoke(cli, ["dlq", "show", "424242"])

    assert bare.exit_code == 2
    assert "at least one filter" in bare.output
    assert bad_age.exit_code == 2
    assert "a week" in bad_age.output
    assert missing.exit_code == 1
    assert "no dead letter 424242" in missing.output
