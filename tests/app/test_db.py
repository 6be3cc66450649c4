"""Engines never put bound parameters (secrets, personal data) into errors or logs."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

SECRET = "whsec-this-value-must-never-be-logged"
INSERT = sa.text(
    "INSERT INTO inboxentry (consumer, event_id, topic, processed_at) "
    "VALUES (:consumer, :event_id, :topic, CURRENT_TIMESTAMP)"
)


def test_an_integrity_error_does_not_show_the_values_bound_to_the_statement(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    row = {"consumer": "c", "event_id": "e", "topic": SECRET}
    with engine.begin() as connection:
        connection.execute(INSERT, row)
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(sa.exc.IntegrityError) as failed,
        engine.begin() as connection,
    ):
        connection.execute(INSERT, row)
    assert SECRET not in str(failed.value), f"a bound parameter leaked: {failed.value}"
    assert SECRET not in caplog.text, "a bound parameter reached the log"


def test_a_data_error_does_not_show_the_values_bound_to_the_statement(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce column lengths, so there is no DataError to force")
    too_long = SECRET * 10  # the topic column holds 100 characters
    with pytest.raises(sa.exc.DataError) as failed, engine.begin() as connection:
        connection.execute(INSERT, {"consumer": "c", "event_id": "e", "topic": too_long})
    assert SECRET not in str(failed.value), f"a bound parameter leaked: {failed.value}"
