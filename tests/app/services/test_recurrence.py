"""The recurrence engine: DST, gaps, month ends, UNTIL/COUNT, and laziness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.recurrence import RecurrenceError, local_exists, parse_rule

NY = "America/New_York"


def _locals(body: str, tz: str, start: datetime, n: int) -> list[str]:
    return [o.local.isoformat() for o in islice(parse_rule(body, tz, start).occurrences(), n)]


def test_a_daily_nine_oclock_stays_nine_oclock_local_across_spring_forward() -> None:
    occurrences = list(
        islice(parse_rule("FREQ=DAILY", NY, datetime(2026, 3, 7, 9)).occurrences(), 3)
    )
    assert [o.local.hour for o in occurrences] == [9, 9, 9]
    assert [o.utc.hour for o in occurrences] == [14, 13, 13], "the UTC hour moves instead"


def test_a_daily_nine_oclock_stays_nine_oclock_local_across_fall_back() -> None:
    occurrences = list(
        islice(parse_rule("FREQ=DAILY", NY, datetime(2026, 10, 31, 9)).occurrences(), 3)
    )
    assert [o.local.hour for o in occurrences] == [9, 9, 9]
    assert [o.utc.hour for o in occurrences] == [13, 14, 14]


def test_a_local_time_inside_the_spring_gap_is_skipped_and_not_counted() -> None:
    rule = parse_rule("FREQ=DAILY;COUNT=3", NY, datetime(2026, 3, 7, 2, 30))
    days = [o.local.day for o in rule.occurrences()]
    assert days == [7, 9, 10], "02:30 on 8 March does not exist in New York"


def test_an_ambiguous_fall_back_time_takes_its_first_instance() -> None:
    [occurrence] = islice(
        parse_rule("FREQ=DAILY", NY, datetime(2026, 11, 1, 1, 30)).occurrences(), 1
    )
    assert occurrence.utc == datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "01:30 EDT, not EST"


def test_last_day_of_the_month() -> None:
    assert [
        d[:10] for d in _locals("FREQ=MONTHLY;BYMONTHDAY=-1", "UTC", datetime(2026, 1, 31, 8), 4)
    ] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]


def test_the_31st_skips_shorter_months_as_rfc_5545_says() -> None:
    assert [
        d[:10] for d in _locals("FREQ=MONTHLY;BYMONTHDAY=31", "UTC", datetime(2026, 1, 31, 8), 4)
    ] == ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31"]


def test_february_29_yearly_occurs_only_in_leap_years() -> None:
    assert [
        d[:10]
        for d in _locals("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "UTC", datetime(2028, 2, 29, 8), 3)
    ] == ["2028-02-29", "2032-02-29", "2036-02-29"]


def test_third_monday_of_the_month() -> None:
    assert [
        d[:10]
        for d in _locals("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=3", "UTC", datetime(2026, 1, 1, 8), 3)
    ] == ["2026-01-19", "2026-02-16", "2026-03-16"]


def test_every_weekday_and_every_two_weeks_on_monday_and_wednesday() -> None:
    weekdays = _locals("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "UTC", datetime(2026, 11, 20, 8), 4)
    assert [d[:10] for d in weekdays] == ["2026-11-20", "2026-11-23", "2026-11-24", "2026-11-25"]
    fortnightly = _locals("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", "UTC", datetime(2026, 11, 23, 8), 4)
    assert [d[:10] for d in fortnightly] == ["2026-11-23", "2026-11-25", "2026-12-07", "2026-12-09"]


def test_until_in_utc_bounds_the_series_in_local_time() -> None:
    # 14:00Z on 10 March is 10:00 EDT, after that day's 09:00 occurrence.
    rule = parse_rule("FREQ=DAILY;UNTIL=20260310T140000Z", NY, datetime(2026, 3, 8, 9))
    assert [o.local.day for o in rule.occurrences()] == [8, 9, 10]
    rule = parse_rule("FREQ=DAILY;UNTIL=20260310T125959Z", NY, datetime(2026, 3, 8, 9))
    assert [o.local.day for o in rule.occurrences()] == [8, 9]


def test_unbounded_rules_are_expanded_lazily() -> None:
    rule = parse_rule("FREQ=HOURLY", "UTC", datetime(2026, 1, 1))
    far = datetime(2100, 1, 1, tzinfo=UTC)
    assert next(rule.occurrences_after(far)).utc == far + timedelta(hours=1)


def test_after_completion_is_one_step_after_the_completion_date() -> None:
    rule = parse_rule("FREQ=DAILY;INTERVAL=3", NY, datetime(2026, 1, 1, 9))
    completed = datetime(2026, 2, 1, 20, 0, tzinfo=UTC)
    nxt = rule.next_after_completion(completed, floor=completed)
    assert nxt is not None
    assert nxt.local.isoformat() == "2026-02-04T09:00:00-05:00"


def test_after_completion_lies_beyond_an_occurrence_completed_early() -> None:
    rule = parse_rule("FREQ=DAILY;INTERVAL=3", NY, datetime(2026, 1, 1, 9))
    due = datetime(2026, 2, 4, 14, 0, tzinfo=UTC)  # 09:00 in New York, 3 days ahead
    nxt = rule.next_after_completion(datetime(2026, 2, 1, 20, 0, tzinfo=UTC), floor=due)
    assert nxt is not None
    assert nxt.local.isoformat() == "2026-02-07T09:00:00-05:00", "not one step past the due one"


@pytest.mark.parametrize(
    ("body", "tz", "message"),
    [
        ("FREQ=SECONDLY", "UTC", "not supported"),
        ("INTERVAL=2", "UTC", "needs a FREQ"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z", "UTC", "COUNT and UNTIL"),
        ("FREQ=DAILY;BYDAY=XX", "UTC", "BYDAY"),
        ("FREQ=DAILY\nDTSTART:20260101T000000", "UTC", "one RRULE body"),
        ("FREQ=DAILY", "Mars/Olympus", "IANA timezone"),
        ("FREQ=DAILY;COUNT=0", "UTC", "COUNT"),
        ("FREQ=DAILY;UNTIL=tomorrow", "UTC", "UNTIL"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(body: str, tz: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message):
        parse_rule(body, tz, datetime(2026, 1, 1, 9))


ZONES = ["UTC", NY, "Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata"]
BODIES = [
    "FREQ=HOURLY;INTERVAL=5",
    "FREQ=DAILY",
    "FREQ=DAILY;BYHOUR=0,1,2,3",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "FREQ=MONTHLY;BYDAY=SU;BYSETPOS=2",
    "FREQ=YEARLY;BYMONTH=3,10;BYDAY=SU",
]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    body=st.sampled_from(BODIES),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)),
)
def test_occurrences_strictly_increase_and_match_rrule_in_local_time(
    zone: str, body: str, start: datetime
) -> None:
    start = start.replace(microsecond=0)
    ours = list(islice(parse_rule(body, zone, start).occurrences(), 40))
    utcs = [o.utc for o in ours]
    assert all(a < b for a, b in pairwise(utcs)), "UTC times strictly increase"
    tz = ZoneInfo(zone)
    expected = [
        naive for naive in islice(rrulestr(body, dtstart=start), 200) if local_exists(naive, tz)
    ][:40]
    assert [o.local.replace(tzinfo=None) for o in ours] == expected
    assert all(o.local.tzinfo is tz for o in ours)
