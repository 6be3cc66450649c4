"""RFC 5545 recurrence in an IANA timezone, expanded lazily and DST-correctly.

Rules are expanded in naive local wall time (so 09:00 stays 09:00 across DST changes) and
each local time is then placed in the zone. Local times that fall in a DST gap do not exist:
RFC 5545 (3.3.10) says such instances are ignored and not counted, so COUNT is applied here,
after the gap filter, rather than by dateutil. Ambiguous local times take their first
instance (fold=0), as RFC 5545 (3.3.5) prescribes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

MAX_COUNT = 10_000
# Rules that yield nothing for a long stretch (e.g. only gap times) stop scanning here.
MAX_SCAN = 50_000
_ALLOWED_FREQS = {"HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_UNTIL_UTC = re.compile(r"^(\d{8})T(\d{6})Z$")
_UNTIL_LOCAL = re.compile(r"^(\d{8})T(\d{6})$")
_UNTIL_DATE = re.compile(r"^(\d{8})$")


class RecurrenceError(ValueError):
    """A rule, timezone or start that cannot describe a series; the message says why."""


@dataclass(frozen=True)
class Occurrence:
    local: datetime
    utc: datetime


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError) as exc:
        raise RecurrenceError(
            f"{name!r} is not an IANA timezone name such as Europe/Paris"
        ) from exc


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
    _dateutil_body: str

    def _expander(self, dtstart: datetime) -> rrule:
        rule = rrulestr(self._dateutil_body, dtstart=dtstart, cache=False)
        assert isinstance(rule, rrule)
        return rule

    def _place(self, naive: datetime) -> Occurrence:
        local = naive.replace(tzinfo=self.zone, fold=0)
        return Occurrence(local=local, utc=local.astimezone(UTC))

    def occurrences(self) -> Iterator[Occurrence]:
        """Every occurrence from the start, lazily, honouring UNTIL and COUNT."""
        produced = 0
        scanned = 0
        for naive in self._expander(self.start):
            scanned += 1
            if scanned > MAX_SCAN and produced == 0:
                return
            if not local_exists(naive, self.zone):
                continue
            yield self._place(naive)
            produced += 1
            if self.count is not None and produced >= self.count:
                return

    def occurrences_after(self, after: datetime | None) -> Iterator[Occurrence]:
        """Occurrences strictly after an instant (all of them for None)."""
        if after is None:
            yield from self.occurrences()
            return
        if self.count is not None:
            # COUNT is counted from the start, so the prefix has to be walked.
            yield from (o for o in self.occurrences() if o.utc > after)
            return
        # Start a little early in local time: the UTC filter below is exact.
        begin = max(self.start, to_local_naive(after, self.zone) - timedelta(hours=3))
        expander = self._expander(self.start)
        scanned = 0
        for naive in expander.xafter(begin, inc=True):
            scanned += 1
            if scanned > MAX_SCAN:
                return
            if not local_exists(naive, self.zone):
                continue
            occurrence = self._place(naive)
            if occurrence.utc > after:
                scanned = 0
                yield occurrence

    def next_after_completion(self, completed_at: datetime) -> Occurrence | None:
        """The next due time of an after-completion series: one rule step after completion.

        The rule is re-anchored on the completion's local date at the series' time of day,
        and its first occurrence on a later date is taken.
        """
        completed_local = completed_at.astimezone(self.zone)
        anchor = datetime.combine(completed_local.date(), self.start.time())
        for naive in self._expander(anchor):
            if naive.date() <= completed_local.date() or not local_exists(naive, self.zone):
                continue
            return self._place(naive)
        return None


def _split(body: str) -> list[tuple[str, str]]:
    parts = []
    for item in body.split(";"):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise RecurrenceError(f"{item!r} is not a NAME=VALUE part of an RRULE")
        parts.append((name.strip().upper(), value.strip().upper()))
    return parts


def _local_until(value: str, zone: ZoneInfo) -> str:
    if match := _UNTIL_UTC.match(value):
        moment = datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        return to_local_naive(moment, zone).strftime("%Y%m%dT%H%M%S")
    if _UNTIL_LOCAL.match(value):
        return value
    if match := _UNTIL_DATE.match(value):
        # A date bound includes the whole of that local day.
        return f"{match.group(1)}T235959"
    raise RecurrenceError(f"UNTIL={value} must be a UTC date-time like 20261231T235959Z")


def parse_rule(body: str, timezone: str, start: datetime) -> RecurrenceRule:
    """Validate an RRULE body for a zone and local start; raise RecurrenceError if unusable."""
    zone = load_zone(timezone)
    if start.tzinfo is not None:
        start = to_local_naive(start, zone)
    start = start.replace(microsecond=0)
    text = body.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if any(ch in text for ch in "\r\n:"):
        raise RecurrenceError("give one RRULE body only, e.g. FREQ=WEEKLY;BYDAY=MO")
    parts = _split(text)
    names = [name for name, _ in parts]
    if len(set(names)) != len(names):
        raise RecurrenceError("an RRULE part appears twice")
    values = dict(parts)
    freq = values.get("FREQ")
    if freq is None:
        raise RecurrenceError("the RRULE needs a FREQ, e.g. FREQ=DAILY")
    if freq not in _ALLOWED_FREQS:
        raise RecurrenceError(f"FREQ={freq} is not supported; use one of {sorted(_ALLOWED_FREQS)}")
    if "COUNT" in values and "UNTIL" in values:
        raise RecurrenceError("COUNT and UNTIL cannot both be given (RFC 5545)")
    count: int | None = None
    expanded: list[str] = []
    for name, value in parts:
        if name == "COUNT":
            if not value.isdigit() or not 1 <= int(value) <= MAX_COUNT:
                raise RecurrenceError(f"COUNT must be between 1 and {MAX_COUNT}")
            count = int(value)
            continue
        if name == "UNTIL":
            value = _local_until(value, zone)
        expanded.append(f"{name}={value}")
    dateutil_body = ";".join(expanded)
    try:
        rule = rrulestr(dateutil_body, dtstart=start, cache=False)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RecurrenceError(f"invalid RRULE: {exc}") from exc
    if not isinstance(rule, rrule):
        raise RecurrenceError("give one RRULE body only")
    canonical = ";".join(f"{n}={v}" for n, v in parts)
    return RecurrenceRule(
        body=canonical, zone=zone, start=start, count=count, _dateutil_body=dateutil_body
    )
