"""`taskstream dlq`: the operator's command line over the dead-letter operations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from app.contract import ENV_DATABASE_URL, NOTIFIER, RECURRER, TASK_EVENTS
from app.models.events import DeadLetter
from app.settings import get_settings
from taskstream.cli import cli
from tests.support.dead_letters import outbox_rows, refuse, sent_event


@pytest.fixture
def cli_database(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    monkeypatch.setenv(ENV_DATABASE_URL, database_url)
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def test_the_command_line_lists_replays_and_reports_what_it_kept(cli_database: Engine) -> None:
    row = sent_event(cli_database)
    replayable = refuse(cli_database, row, NOTIFIER.app_id)
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
    assert outbox_rows(cli_database, row.event_id)[0].published_at is None


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
