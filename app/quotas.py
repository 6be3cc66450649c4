"""Per-user quotas and recurrence bounds: the defaults the settings start from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Quotas:
    """How much one user may store; each limit is named in the problem it causes."""

    tasks_per_user: int = 10_000
    series_per_user: int = 100
    tags_per_user: int = 500


@dataclass(frozen=True)
class RecurrenceBounds:
    """How much work one recurrence expansion may do, and which rules are sane."""

    # A new series starts, and finds its first occurrence, within this many years of now;
    # one INTERVAL step may not span more than this either.
    max_years: int = 10
    # Occurrences closer together than this are refused (checked over the first ones
    # when a series is created, and again whenever one is materialised).
    min_spacing: timedelta = timedelta(hours=1)
    # Candidate periods dateutil may visit for one expansion (one preview, one window fill).
    step_budget: int = 10_000
    # How many leading occurrences the spacing check looks at when a series is created.
    spacing_sample: int = 50
