"""Recurring series over HTTP under hostile rules: a 422 naming the field, never a 5xx."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models.series import RecurringSeries
from tests.support.accounts import ApiUser
from tests.support.rrule_steps import counting_dateutil_periods

SERIES = "/api/v1/recurring-tasks"
NEXT_YEAR = f"{datetime.now().year + 1}-01-05T09:00:00"
EVERY_SECOND = (
    "FREQ=DAILY;BYHOUR="
    + ",".join(map(str, range(24)))
    + ";BYMINUTE="
    + ",".join(map(str, range(60)))
    + ";BYSECOND="
    + ",".join(map(str, range(60)))
)

HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("start in year 9999", {"start": "9999-06-01T09:00:00"}, "start"),
    ("hourly from year 1", {"rrule": "FREQ=HOURLY", "start": "0001-01-01T00:00:00"}, "start"),
    ("aware start at the calendar's edge", {"start": "0001-01-01T00:00:00+14:00"}, "start"),
    ("a rule that never matches", {"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),
    ("hourly never matching", {"rrule": "FREQ=HOURLY;BYMINUTE=0;BYSETPOS=2"}, "rrule"),
    ("ordinal weekday far out", {"rrule": "FREQ=MONTHLY;BYDAY=+500MO"}, "rrule"),
    ("UNTIL in month 13", {"rrule": "FREQ=DAILY;UNTIL=20261301T000000Z"}, "rrule"),
    ("INTERVAL=0", {"rrule": "FREQ=DAILY;INTERVAL=0"}, "rrule"),
    ("an absurd INTERVAL", {"rrule": "FREQ=DAILY;INTERVAL=10000000"}, "rrule"),
    ("a step over the horizon", {"rrule": "FREQ=YEARLY;INTERVAL=50"}, "rrule"),
    ("a preset over the horizon", {"preset": {"frequency": "yearly", "interval": 900}}, "preset"),
    ("a huge part value", {"rrule": "FREQ=DAILY;BYHOUR=" + "7" * 900}, "rrule"),
    ("a huge unknown part", {"rrule": "FREQ=DAILY;X-" + "A" * 900 + "=1"}, "rrule"),
    ("every second", {"rrule": EVERY_SECOND}, "rrule"),
    ("every half hour", {"rrule": "FREQ=HOURLY;BYMINUTE=0,30"}, "rrule"),
    ("pseudo zone localtime", {"timezone": "localtime"}, "timezone"),
    ("pseudo zone Factory", {"timezone": "Factory"}, "timezone"),
    ("pseudo zone posixrules", {"timezone": "posixrules"}, "timezone"),
]


def test_hostile_series_are_refused_with_a_problem_naming_the_field(
    client: TestClient, alice: ApiUser
) -> None:
    wrong = []
    for case, change, field in HOSTILE:
        body = {"title": "x", "rrule": "FREQ=DAILY", "start": NEXT_YEAR, **change}
        if "preset" in change:
            del body["rrule"]
        response = client.post(SERIES, headers=alice.headers, json=body)
        problem = response.json()
        if (
            response.status_code != 422
            or response.headers["content-type"] != "application/problem+json"
            or problem.get("errors", [{}])[0].get("loc") != ["body", field]
            or not problem.get("detail")
        ):
            wrong.append(f"{case}: {response.status_code} {response.text[:200]}")
    assert not wrong, "not a 422 naming the field:\n" + "\n".join(wrong)


def test_a_stored_series_starting_in_year_one_is_read_and_previewed_boundedly(
    client: TestClient, alice: ApiUser, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows like this predate the start bound; they must still be cheap to read.
    with Session(engine) as session:
        stored = RecurringSeries(
            owner_id=uuid.UUID(alice.id),
            title="old",
            rrule="FREQ=HOURLY",
            timezone="UTC",
            start=datetime(1, 1, 1),
        )
        session.add(stored)
        session.commit()
        series_id = stored.id
    with counting_dateutil_periods(monkeypatch) as periods:
        read = client.get(f"{SERIES}/{series_id}", headers=alice.headers)
        preview = client.get(f"{SERIES}/{series_id}/preview", headers=alice.headers)
    assert read.status_code == 200, read.text
    assert read.json()["next_due_at"] is not None
    assert preview.status_code == 200, preview.text
    assert len(preview.json()["occurrences"]) == 10
    assert periods.visited < 1_000, f"{periods.visited} periods visited: expanded from year 1"
