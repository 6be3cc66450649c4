"""ISO 8601 durations for reminder offsets (weeks, days, hours, minutes, seconds)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator

# ASCII digits only: \d would also take other scripts' digits, which int() accepts.
_NUMBER = "[0-9]+"
_DURATION = re.compile(
    rf"^P(?:(?P<weeks>{_NUMBER})W)?(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?$"
)
MAX_OFFSET = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """Parse a fixed-length ISO 8601 duration such as P1D, PT1H30M or PT0S."""
    match = _DURATION.match(text.strip().upper())
    if match is None or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration of weeks/days/hours/minutes/seconds "
            "(for example PT0S, PT15M, PT1H, P1D, P1W)"
        )
    digits = {name: value for name, value in match.groupdict().items() if value is not None}
    if not digits:
        raise ValueError(f"{text!r} has no duration components")
    try:
        # Past 9 digits every component exceeds the maximum; skip converting huge numbers.
        if any(len(value.lstrip("0")) > 9 for value in digits.values()):
            raise OverflowError
        offset = timedelta(**{name: int(value) for name, value in digits.items()})
    except OverflowError:
        offset = timedelta.max
    if offset > MAX_OFFSET:
        raise ValueError(f"{text!r} is longer than the maximum reminder offset of 366 days")
    return offset


def format_duration(offset: timedelta) -> str:
    """The canonical text of an offset: days then time, PT0S for zero."""
    total = int(offset.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
    return text if text != "P" else "PT0S"


def _canonical(text: str) -> str:
    return format_duration(parse_duration(text))


ReminderOffset = Annotated[str, AfterValidator(_canonical)]


def normalise_reminders(offsets: list[str]) -> list[str]:
    """Deduplicated offsets, earliest reminder first (largest offset first)."""
    unique = {format_duration(parse_duration(o)) for o in offsets}
    return sorted(unique, key=lambda o: parse_duration(o), reverse=True)
