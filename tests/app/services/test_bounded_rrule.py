"""Bounded expansion: a budget on dateutil's own steps, and starting near the instant asked."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.bounded_rrule import StepBudgetExhausted, expand, period_anchor, pinned
from app.services.rrule_parts import parse_parts
from tests.support.rrule_steps import counting_dateutil_periods

NEVER_MATCHING = [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=HOURLY;BYSETPOS=2;BYMINUTE=0",
    "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=5",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;INTERVAL=7;BYDAY=TU",
]


@pytest.mark.parametrize("body", NEVER_MATCHING)
def test_a_rule_that_never_matches_runs_out_of_steps_instead_of_scanning_to_year_9999(
    body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keywords = parse_parts(body).kwargs()
    with counting_dateutil_periods(monkeypatch) as periods, pytest.raises(StepBudgetExhausted):
        list(expand(keywords, datetime(2026, 1, 5, 9), None, 2_000))
    assert 0 < periods.visited <= 4_000, f"dateutil visited {periods.visited} periods"


def test_every_instant_yielded_costs_a_step() -> None:
    keywords = parse_parts("FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11;BYMINUTE=0,30").kwargs()
    instants = expand(keywords, datetime(2026, 1, 1), None, 100)
    with pytest.raises(StepBudgetExhausted):
        list(islice(instants, 1_000))


ANCHORED_BODIES = [
    "FREQ=HOURLY;INTERVAL=5",
    "FREQ=HOURLY;INTERVAL=7;BYHOUR=1,8,15,22",
    "FREQ=DAILY;INTERVAL=3",
    "FREQ=DAILY;BYHOUR=0,12;BYSETPOS=-1",
    "FREQ=WEEKLY",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,SU;WKST=SU",
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
    "FREQ=MONTHLY",
    "FREQ=MONTHLY;INTERVAL=5",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=3",
    "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=7",
    "FREQ=YEARLY",
    "FREQ=YEARLY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=YEARLY;BYWEEKNO=1,53;BYDAY=MO",
    "FREQ=YEARLY;BYDAY=-1FR",
]


@settings(max_examples=150, deadline=None)
@given(
    body=st.sampled_from(ANCHORED_BODIES),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
    ahead=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3_000)),
)
def test_expanding_from_the_period_before_an_instant_gives_the_rules_own_later_instants(
    body: str, start: datetime, ahead: timedelta
) -> None:
    start = start.replace(microsecond=0)
    near = start + ahead
    keywords = parse_parts(body).kwargs()
    whole = (x for x in expand(keywords, start, None, 10**6) if x > near)
    wkst = keywords.get("wkst", 0)
    anchor = period_anchor(start, near, keywords["freq"], keywords["interval"], wkst)
    assert start <= anchor <= near, f"anchor {anchor} lies outside [{start}, {near}]"
    shifted = (x for x in expand(pinned(keywords, start), anchor, None, 10**6) if x > near)
    assert list(islice(shifted, 12)) == list(islice(whole, 12)), f"anchored at {anchor}"
