"""Recurrence under hostile input: every rule is refused with a reason or expands boundedly."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.quotas import RecurrenceBounds
from app.services.recurrence import (
    Occurrence,
    RecurrenceError,
    StepBudgetExhausted,
    parse_rule,
)
from tests.support.rrule_steps import counting_dateutil_periods

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SMALL = RecurrenceBounds(step_budget=2_000)


def test_a_series_started_in_year_one_expands_from_near_the_instant_asked_about(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rule = parse_rule("FREQ=HOURLY", "UTC", datetime(1, 1, 1), SMALL)
    with counting_dateutil_periods(monkeypatch) as periods:
        upcoming = [o.utc for o in islice(rule.occurrences_after(NOW), 3)]
    assert upcoming == [NOW.replace(hour=h) for h in (7, 8, 9)]
    assert periods.visited < 100, f"{periods.visited} periods visited: expanded from year 1"


def test_count_is_counted_from_the_start_even_when_expanding_from_later() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=5", "UTC", datetime(2026, 1, 1, 9), SMALL)
    after = datetime(2026, 1, 3, 12, tzinfo=UTC)
    assert [o.utc.day for o in rule.occurrences_after(after)] == [4, 5]


def test_count_skips_and_does_not_count_dst_gap_times_when_expanding_from_later() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=3", "America/New_York", datetime(2026, 3, 7, 2, 30))
    after = datetime(2026, 3, 8, tzinfo=UTC)
    assert [o.local.day for o in rule.occurrences_after(after)] == [9, 10]


def test_a_count_reaching_beyond_the_step_budget_is_refused() -> None:
    with pytest.raises(RecurrenceError, match="COUNT=5000"):
        parse_rule("FREQ=HOURLY;COUNT=5000", "UTC", datetime(2026, 1, 1), SMALL)


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/UTC", "../etc"])
def test_pseudo_and_path_like_timezones_are_refused(zone: str) -> None:
    with pytest.raises(RecurrenceError, match="IANA") as raised:
        parse_rule("FREQ=DAILY", zone, datetime(2026, 1, 1, 9))
    assert raised.value.field == "timezone"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("FREQ=MONTHLY;BYDAY=+500MO", "ordinal"),
        ("FREQ=YEARLY;BYDAY=+54MO", "ordinal"),
        ("FREQ=DAILY;BYDAY=+1MO", "ordinal"),
        ("FREQ=DAILY;UNTIL=20261301T000000Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=00000101T000000Z", "UNTIL"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=10000000", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=" + "9" * 900, "INTERVAL"),
        ("FREQ=DAILY;BYHOUR=99", "BYHOUR"),
        ("FREQ=DAILY;BYHOUR=" + "1" * 900, "BYHOUR"),
        ("FREQ=DAILY;BYMONTHDAY=" + ",".join(["1"] * 200), "more than"),
        ("FREQ=DAILY;X-" + "A" * 900 + "=1", "not an RRULE part"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY"),
        ("FREQ=DAILY;BYEASTER=0", "not an RRULE part"),
        ("FREQ=DAILY;WKST=XX", "WKST"),
    ],
)
def test_hostile_rule_parts_are_refused_naming_the_part(body: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message):
        parse_rule(body, "UTC", datetime(2026, 1, 1, 9))


_PART = st.sampled_from(
    [
        "INTERVAL=1",
        "INTERVAL=3",
        "INTERVAL=400",
        "BYMONTH=2",
        "BYMONTH=1,7",
        "BYMONTHDAY=29",
        "BYMONTHDAY=30",
        "BYMONTHDAY=-1,15",
        "BYYEARDAY=366",
        "BYWEEKNO=53",
        "BYDAY=MO",
        "BYDAY=SA,SU",
        "BYDAY=+5FR",
        "BYDAY=-1SU",
        "BYHOUR=0,23",
        "BYMINUTE=0,59",
        "BYSECOND=30",
        "BYSETPOS=2",
        "BYSETPOS=-3",
        "COUNT=7",
        "COUNT=9000",
        "UNTIL=20270101T000000Z",
        "WKST=SU",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    freq=st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    parts=st.lists(_PART, max_size=4, unique_by=lambda p: p.split("=")[0]),
    start=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2040, 1, 1)),
    zone=st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe"]),
)
def test_any_accepted_rule_previews_within_a_bounded_number_of_dateutil_steps(
    freq: str, parts: list[str], start: datetime, zone: str
) -> None:
    body = ";".join([f"FREQ={freq}", *parts])
    try:
        rule = parse_rule(body, zone, start.replace(microsecond=0), SMALL)
    except RecurrenceError as refused:
        reason = str(refused)
        assert reason, f"{body} refused without a reason"
        return
    found: list[Occurrence] = []
    with (
        pytest.MonkeyPatch.context() as patch,
        counting_dateutil_periods(patch) as periods,
        suppress(StepBudgetExhausted),
    ):
        found.extend(islice(rule.occurrences_after(NOW), 100))
    assert all(o.utc > NOW for o in found), f"{body}: an occurrence before the instant asked"
    assert periods.visited <= 2 * SMALL.step_budget, f"{body}: {periods.visited} periods"
