"""dateutil expansion with a budget on the steps it takes, started near the instant asked about."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY, rrule


class StepBudgetExhausted(Exception):
    """An expansion visited more candidate periods and instants than its budget allows."""


class _Budget:
    def __init__(self, steps: int) -> None:
        self.left = steps

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise StepBudgetExhausted


# Periods dateutil may visit per month entered, for the frequencies counted that way.
_PERIODS_PER_MONTH = {YEARLY: 1, MONTHLY: 1, WEEKLY: 5, DAILY: 31, HOURLY: 0}


class _CountingRule(rrule):
    """An rrule that pays for every period it visits, including those that match nothing.

    dateutil skips periods that match nothing without yielding and stops only at year 9999,
    so a rule that can never match (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) runs for seconds.
    Its iterator reads `_byeaster` whenever it enters a new month (a new year for YEARLY)
    and, for HOURLY, `_byminute` once per hour it visits; counting those reads prices
    every step. tests/app/services/test_bounded_rrule.py pins this to the installed dateutil.
    """

    _budget: _Budget | None = None
    # Set by rrule.__init__; declared for the type checker.
    _freq: int
    _interval: int

    def _spend(self, steps: int) -> None:
        budget = self.__dict__.get("_budget")
        if budget is not None and steps:
            budget.spend(steps)

    @property
    def _byeaster(self) -> Any:
        weight = _PERIODS_PER_MONTH[self._freq]
        self._spend(max(1, weight // self._interval) if weight else 0)
        return self.__dict__["_easter"]

    @_byeaster.setter
    def _byeaster(self, value: Any) -> None:
        self.__dict__["_easter"] = value

    @property
    def _byminute(self) -> Any:
        self._spend(1 if self._freq == HOURLY else 0)
        return self.__dict__["_minute"]

    @_byminute.setter
    def _byminute(self, value: Any) -> None:
        self.__dict__["_minute"] = value


def expand(
    keywords: dict[str, Any], dtstart: datetime, until: datetime | None, steps: int
) -> Iterator[datetime]:
    """Naive local instants of the rule from dtstart; StepBudgetExhausted after `steps`.

    Every instant yielded costs a step too, so a rule with thousands of instants a day is
    bounded like one that skips years.
    """
    budget = _Budget(steps)
    try:
        rule = _CountingRule(dtstart=dtstart, until=until, cache=False, **keywords)
    except (ValueError, OverflowError):
        return
    rule.__dict__["_budget"] = budget
    try:
        for instant in rule:
            budget.spend(1)
            yield instant
    except (ValueError, OverflowError):
        # Date arithmetic past year 9999: the rule has nothing more to give.
        return


def pinned(keywords: dict[str, Any], start: datetime) -> dict[str, Any]:
    """The keywords with everything dateutil would take from `start` made explicit.

    With them, the rule gives the same instants from any period-aligned later dtstart.
    """
    pins = dict(keywords)
    freq = pins["freq"]
    day_given = any(pins.get(k) for k in ("byweekno", "byyearday", "bymonthday", "byweekday"))
    if not day_given:
        if freq == YEARLY:
            pins.setdefault("bymonth", (start.month,))
            pins["bymonthday"] = (start.day,)
        elif freq == MONTHLY:
            pins["bymonthday"] = (start.day,)
        elif freq == WEEKLY:
            pins["byweekday"] = (start.weekday(),)
    if freq < HOURLY:
        pins.setdefault("byhour", (start.hour,))
    pins.setdefault("byminute", (start.minute,))
    pins.setdefault("bysecond", (start.second,))
    return pins


_FIXED_STEPS = {HOURLY: timedelta(hours=1), DAILY: timedelta(days=1), WEEKLY: timedelta(weeks=1)}


def period_anchor(start: datetime, near: datetime, freq: int, interval: int, wkst: int) -> datetime:
    """The start of the latest period of the rule that begins at or before `near`.

    Periods are counted from `start` in whole INTERVALs, so the result is a dtstart that,
    with pinned keywords, gives exactly the rule's instants from that period on.
    """
    if near <= start:
        return start
    if freq in _FIXED_STEPS:
        step = _FIXED_STEPS[freq] * interval
        periods = (near - start) // step
        if periods == 0:
            return start
        moved = start + periods * step
        if freq == HOURLY:
            return moved
        day = moved.replace(hour=0, minute=0, second=0)
        if freq == WEEKLY:
            # A whole week from its first day: BYSETPOS picks within whole weeks.
            day -= timedelta(days=(day.weekday() - wkst) % 7)
        return day
    months = (near.year - start.year) * 12 + near.month - start.month
    per_period = interval * (12 if freq == YEARLY else 1)
    periods = months // per_period
    if periods == 0:
        return start
    year, month = divmod(start.year * 12 + start.month - 1 + periods * per_period, 12)
    return datetime(year, 1 if freq == YEARLY else month + 1, 1)
