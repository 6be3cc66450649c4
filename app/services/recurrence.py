"""RFC 5545 recurrence in an IANA timezone, expanded lazily, DST-correctly and boundedly.

Rules are expanded in naive local wall time (so 09:00 stays 09:00 across DST changes) and
each local time is then placed in the zone. Local times that fall in a DST gap do not exist:
RFC 5545 (3.3.10) says such instances are ignored and not counted, so COUNT is applied here,
after the gap filter, rather than by dateutil. Ambiguous local times take their first
instance (fold=0), as RFC 5545 (3.3.5) prescribes.

Every expansion has a step budget (app.services.bounded_rrule) and starts from the rule's
period just before the instant asked about, not from the series' start; a COUNT is turned
once into the UNTIL of its last instance so that the same shortcut holds for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import rrule, rrulestr

from app.quotas import RecurrenceBounds
from app.services.bounded_rrule import StepBudgetExhausted, expand, period_anchor, pinned
from app.services.rrule_parts import MAX_COUNT, RecurrenceError, parse_parts

__all__ = ["MAX_COUNT", "RecurrenceError", "StepBudgetExhausted"]

_UNTIL_UTC = re.compile(r"^(\d{8})T(\d{6})Z$")
_UNTIL_LOCAL = re.compile(r"^(\d{8})T(\d{6})$")
_UNTIL_DATE = re.compile(r"^(\d{8})$")
# zoneinfo loads these files, but they name the host's zone or none at all, not a place.
_PSEUDO_ZONES = frozenset({"localtime", "Factory", "posixrules"})
# Local and UTC differ by at most 26 hours; periods are looked for this far before `after`.
_LOOKBACK = timedelta(days=2)


@dataclass(frozen=True)
class Occurrence:
    local: datetime
    utc: datetime


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _PSEUDO_ZONES


def load_zone(name: str) -> ZoneInfo:
    if name not in _zone_names():
        raise RecurrenceError(
            f"{name[:64]!r} is not an IANA timezone name such as Europe/Paris", field="timezone"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise RecurrenceError(f"{name!r} cannot be loaded", field="timezone") from exc


def local_exists(naive: datetime, zone: ZoneInfo) -> bool:
    """False for wall times skipped by a DST gap in that zone."""
    placed = naive.replace(tzinfo=zone)
    return placed.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def to_local_naive(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


@dataclass(frozen=True)
class RecurrenceRule:
    """A validated rule: the RRULE body, the zone and the local start."""

    body: str
    zone: ZoneInfo
    start: datetime
    count: int | None
    freq: int
    interval: int
    until: datetime | None
    # The local instant of the COUNT-th occurrence: where a scheduled series ends.
    count_until: datetime | None
    steps: int
    _keywords: tuple[tuple[str, Any], ...]

    def _place(self, naive: datetime) -> Occurrence:
        local = naive.replace(tzinfo=self.zone, fold=0)
        return Occurrence(local=local, utc=local.astimezone(UTC))

    def _existing(
        self, dtstart: datetime, keywords: dict[str, Any], *, scheduled: bool = True
    ) -> Iterator[Occurrence]:
        until = self.count_until if scheduled and self.count is not None else self.until
        for naive in expand(keywords, dtstart, until, self.steps):
            if local_exists(naive, self.zone):
                yield self._place(naive)

    def occurrences(self) -> Iterator[Occurrence]:
        """Every occurrence from the start, lazily, honouring UNTIL and COUNT.

        Raises StepBudgetExhausted when the budget runs out before the rule does.
        """
        return self._existing(self.start, dict(self._keywords))

    def occurrences_after(self, after: datetime | None) -> Iterator[Occurrence]:
        """Occurrences strictly after an instant (all of them for None), same budget."""
        if after is None:
            return self.occurrences()
        near = to_local_naive(after, self.zone) - _LOOKBACK
        keywords = pinned(dict(self._keywords), self.start)
        dtstart = period_anchor(self.start, near, self.freq, self.interval, keywords.get("wkst", 0))
        return (o for o in self._existing(dtstart, keywords) if o.utc > after)

    def next_after_completion(self, completed_at: datetime, floor: datetime) -> Occurrence | None:
        """The next due time of an after-completion series: one rule step after completion.

        The rule is re-anchored on the completion's local date at the series' time of day;
        its first occurrence on a later date and strictly after `floor` (the occurrence just
        completed, when that was completed early) is taken.
        """
        completed_local = completed_at.astimezone(self.zone)
        anchor = datetime.combine(completed_local.date(), self.start.time())
        # COUNT counts completions here (the caller's job), not the calendar from start.
        for occurrence in self._existing(anchor, dict(self._keywords), scheduled=False):
            if occurrence.local.date() > completed_local.date() and occurrence.utc > floor:
                return occurrence
        return None


def _local_until(value: str, zone: ZoneInfo) -> datetime:
    try:
        if match := _UNTIL_UTC.match(value):
            moment = datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S")
            return to_local_naive(moment.replace(tzinfo=UTC), zone)
        if match := _UNTIL_LOCAL.match(value):
            return datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S")
        if match := _UNTIL_DATE.match(value):
            # A date bound includes the whole of that local day.
            return datetime.strptime(match.group(1) + "235959", "%Y%m%d%H%M%S")
    except (ValueError, OverflowError) as exc:
        raise RecurrenceError(f"UNTIL={value[:20]} is not a real date-time") from exc
    raise RecurrenceError(f"UNTIL={value[:20]} must be a UTC date-time like 20261231T235959Z")


@lru_cache(maxsize=1024)
def _count_until(
    keywords: tuple[tuple[str, Any], ...], zone: ZoneInfo, start: datetime, count: int, steps: int
) -> datetime | None:
    """The local instant of the COUNT-th occurrence (None if the rule ends sooner)."""
    last = None
    produced = 0
    try:
        for naive in expand(dict(keywords), start, None, steps):
            if not local_exists(naive, zone):
                continue
            last = naive
            produced += 1
            if produced >= count:
                return naive
    except StepBudgetExhausted as exc:
        raise RecurrenceError(
            f"COUNT={count} reaches further than this service expands a rule; give UNTIL"
        ) from exc
    return last


def parse_rule(
    body: str, timezone: str, start: datetime, bounds: RecurrenceBounds | None = None
) -> RecurrenceRule:
    """Validate an RRULE body for a zone and local start; raise RecurrenceError if unusable."""
    steps = (bounds or RecurrenceBounds()).step_budget
    zone = load_zone(timezone)
    if start.tzinfo is not None:
        try:
            start = to_local_naive(start, zone)
        except OverflowError as exc:
            raise RecurrenceError("start is out of the calendar's range", field="start") from exc
    start = start.replace(microsecond=0)
    parts = parse_parts(body)
    until = _local_until(parts.until, zone) if parts.until is not None else None
    count_until = None
    # The product promises rules dateutil's own parser accepts; this keeps the promise.
    try:
        checked = rrulestr(parts.canonical, dtstart=start, cache=False, ignoretz=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise RecurrenceError(f"invalid RRULE: {exc}") from exc
    if not isinstance(checked, rrule):
        raise RecurrenceError("give one RRULE body only")
    if parts.count is not None:
        count_until = _count_until(parts.keywords, zone, start, parts.count, steps)
    return RecurrenceRule(
        body=parts.canonical,
        zone=zone,
        start=start,
        count=parts.count,
        freq=parts.freq,
        interval=parts.interval,
        until=until,
        count_until=count_until,
        steps=steps,
        _keywords=parts.keywords,
    )
