"""Timezone-aware instants from clients: converted to UTC, due times kept to a sane range."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

# Far enough from datetime's own limits that every instant derived from a due time
# (reminders up to 366 days before it, its wall time in any zone) stays representable.
EARLIEST_DUE = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DUE = datetime(9000, 1, 1, tzinfo=UTC)
DUE_RANGE = "from 1970-01-01T00:00:00Z up to (not including) 9000-01-01T00:00:00Z"


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} lies outside the years 1-9999 in UTC") from None


def _within_due_range(moment: datetime) -> datetime:
    if not EARLIEST_DUE <= moment < LATEST_DUE:
        raise ValueError(f"a due time must be {DUE_RANGE}")
    return moment


UtcInstant = Annotated[AwareDatetime, AfterValidator(_to_utc)]
DueInstant = Annotated[UtcInstant, AfterValidator(_within_due_range)]
