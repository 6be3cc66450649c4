"""The parts of an RRULE body, each checked against RFC 5545's grammar and ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY, weekday

MAX_COUNT = 10_000
# Keeps date arithmetic finite; RecurrenceBounds narrows it per frequency for new series.
MAX_INTERVAL = 100_000
MAX_LIST_ITEMS = 60

FREQS = {"HOURLY": HOURLY, "DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# name: (dateutil keyword, lowest, highest, may be negative)
_NUMBER_LISTS: dict[str, tuple[str, int, int, bool]] = {
    "BYSECOND": ("bysecond", 0, 59, False),
    "BYMINUTE": ("byminute", 0, 59, False),
    "BYHOUR": ("byhour", 0, 23, False),
    "BYMONTHDAY": ("bymonthday", 1, 31, True),
    "BYYEARDAY": ("byyearday", 1, 366, True),
    "BYWEEKNO": ("byweekno", 1, 53, True),
    "BYMONTH": ("bymonth", 1, 12, False),
    "BYSETPOS": ("bysetpos", 1, 366, True),
}
# RFC 5545 3.3.10: the parts each frequency may not carry.
_NOT_WITH = {
    "BYYEARDAY": ("DAILY", "WEEKLY", "MONTHLY"),
    "BYMONTHDAY": ("WEEKLY",),
    "BYWEEKNO": ("HOURLY", "DAILY", "WEEKLY", "MONTHLY"),
}
_INTEGER = re.compile(r"^([+-]?)(\d{1,4})$")
_WEEKDAY = re.compile(r"^([+-]?)(\d{1,3})?(MO|TU|WE|TH|FR|SA|SU)$")


class RecurrenceError(ValueError):
    """A rule, timezone or start that cannot describe a series; the message says why."""

    def __init__(self, message: str, *, field: str = "rrule") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RuleParts:
    """A checked RRULE body: its canonical text, COUNT, raw UNTIL and dateutil keywords."""

    canonical: str
    freq: int
    interval: int
    count: int | None
    until: str | None
    # Every keyword for dateutil's rrule except dtstart, count and until, as sorted pairs.
    keywords: tuple[tuple[str, Any], ...]

    def kwargs(self) -> dict[str, Any]:
        return dict(self.keywords)


def _split(body: str) -> list[tuple[str, str]]:
    parts = []
    for item in body.split(";"):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise RecurrenceError(f"{item[:40]!r} is not a NAME=VALUE part of an RRULE")
        parts.append((name.strip().upper(), value.strip().upper()))
    return parts


def _items(name: str, value: str) -> list[str]:
    items = value.split(",")
    if len(items) > MAX_LIST_ITEMS:
        raise RecurrenceError(f"{name} lists more than {MAX_LIST_ITEMS} values")
    return items


def _numbers(name: str, value: str) -> tuple[int, ...]:
    _, low, high, signed = _NUMBER_LISTS[name]
    numbers = []
    for item in _items(name, value):
        match = _INTEGER.match(item)
        number = int(item) if match else None
        if number is None or (match and match.group(1) == "-" and not signed):
            raise RecurrenceError(f"{name}={value[:40]} is not a list of whole numbers")
        if not low <= abs(number) <= high or (number < 0 and not signed):
            span = f"{low}..{high}" + (f" or -{high}..-{low}" if signed else "")
            raise RecurrenceError(f"{name} values must be in {span}; got {number}")
        numbers.append(number)
    return tuple(sorted(set(numbers)))


def _weekdays(value: str, freq: str, values: dict[str, str]) -> tuple[weekday, ...]:
    # RFC 5545: an ordinal (+2MO) only with MONTHLY or YEARLY; it counts within the month
    # (at most 5 of one weekday) unless a YEARLY rule counts within the year (at most 53).
    yearly_count = freq == "YEARLY" and "BYMONTH" not in values
    most = 53 if yearly_count else 5
    days = []
    for item in _items("BYDAY", value):
        match = _WEEKDAY.match(item)
        if match is None:
            raise RecurrenceError(f"BYDAY={value[:40]} must list days like MO,TU or +1MO,-1FR")
        sign, digits, day = match.groups()
        if digits is None:
            days.append(weekday(DAYS.index(day)))
            continue
        if freq not in ("MONTHLY", "YEARLY") or "BYWEEKNO" in values:
            raise RecurrenceError(f"BYDAY={item} has an ordinal, allowed only in MONTHLY or YEARLY")
        ordinal = int(digits)
        if not 1 <= ordinal <= most:
            raise RecurrenceError(f"BYDAY={item}: the ordinal must be between 1 and {most}")
        days.append(weekday(DAYS.index(day), -ordinal if sign == "-" else ordinal))
    return tuple(sorted(set(days), key=lambda d: (d.weekday, d.n or 0)))


def _bounded_int(name: str, value: str, highest: int) -> int:
    if not value.isdigit() or len(value) > 7 or not 1 <= int(value) <= highest:
        raise RecurrenceError(f"{name} must be a whole number between 1 and {highest}")
    return int(value)


def parse_parts(body: str) -> RuleParts:
    """Check every part of an RRULE body; raise RecurrenceError naming the first bad one."""
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
    if freq not in FREQS:
        raise RecurrenceError(f"FREQ={freq[:20]} is not supported; use one of {sorted(FREQS)}")
    if "COUNT" in values and "UNTIL" in values:
        raise RecurrenceError("COUNT and UNTIL cannot both be given (RFC 5545)")
    keywords: dict[str, Any] = {"freq": FREQS[freq], "interval": 1}
    count: int | None = None
    for name, value in parts:
        if name in _NOT_WITH and freq in _NOT_WITH[name]:
            raise RecurrenceError(f"{name} cannot be used with FREQ={freq} (RFC 5545)")
        if name == "FREQ" or name == "UNTIL":
            continue
        if name == "COUNT":
            count = _bounded_int("COUNT", value, MAX_COUNT)
        elif name == "INTERVAL":
            keywords["interval"] = _bounded_int("INTERVAL", value, MAX_INTERVAL)
        elif name == "WKST":
            if value not in DAYS:
                raise RecurrenceError(f"WKST={value[:20]} must be a day such as MO")
            keywords["wkst"] = DAYS.index(value)
        elif name == "BYDAY":
            keywords["byweekday"] = _weekdays(value, freq, values)
        elif name in _NUMBER_LISTS:
            keywords[_NUMBER_LISTS[name][0]] = _numbers(name, value)
        else:
            raise RecurrenceError(f"{name[:40]} is not an RRULE part this service supports")
    others = [k for k in keywords if k.startswith("by") and k != "bysetpos"]
    if "bysetpos" in keywords and not others:
        raise RecurrenceError("BYSETPOS needs another BYxxx part to pick from (RFC 5545)")
    return RuleParts(
        canonical=";".join(f"{n}={v}" for n, v in parts),
        freq=FREQS[freq],
        interval=keywords["interval"],
        count=count,
        until=values.get("UNTIL"),
        keywords=tuple(sorted(keywords.items())),
    )
