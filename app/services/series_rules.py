"""What a new series' rule must satisfy: a start near now, sane steps, spaced occurrences."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice, pairwise

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY

from app.errors import invalid_field
from app.models.series import SeriesCreate
from app.quotas import RecurrenceBounds
from app.services.recurrence import (
    Occurrence,
    RecurrenceError,
    RecurrenceRule,
    StepBudgetExhausted,
    parse_rule,
    to_local_naive,
)

# The longest stretch one INTERVAL of each frequency can cover.
_LONGEST_STEP = {
    HOURLY: timedelta(hours=1),
    DAILY: timedelta(days=1),
    WEEKLY: timedelta(weeks=1),
    MONTHLY: timedelta(days=31),
    YEARLY: timedelta(days=366),
}
_NAMES = {HOURLY: "HOURLY", DAILY: "DAILY", WEEKLY: "WEEKLY", MONTHLY: "MONTHLY", YEARLY: "YEARLY"}


def _years(bounds: RecurrenceBounds) -> timedelta:
    return timedelta(days=365 * bounds.max_years)


def _first_occurrences(
    rule: RecurrenceRule, now: datetime, bounds: RecurrenceBounds
) -> list[Occurrence]:
    years = _years(bounds)
    local_now = to_local_naive(now, rule.zone)
    if abs(rule.start - local_now) > years:
        raise RecurrenceError(
            f"start must lie within {bounds.max_years} years of today", field="start"
        )
    if _LONGEST_STEP[rule.freq] * rule.interval > years:
        raise RecurrenceError(
            f"INTERVAL={rule.interval} with FREQ={_NAMES[rule.freq]} steps further than "
            f"{bounds.max_years} years"
        )
    sample: list[Occurrence] = []
    try:
        sample.extend(islice(rule.occurrences_after(now), bounds.spacing_sample))
    except StepBudgetExhausted as exc:
        if not sample:
            raise RecurrenceError(
                f"this rule finds no occurrence within {bounds.step_budget} expansion steps "
                "from now; it may never match"
            ) from exc
    if not sample:
        raise RecurrenceError("this rule produces no occurrence from now on")
    if sample[0].utc - now > years:
        raise RecurrenceError(
            f"this rule's first occurrence lies more than {bounds.max_years} years ahead"
        )
    return sample


def check_spacing(earlier: datetime, later: datetime, bounds: RecurrenceBounds) -> None:
    if later - earlier < bounds.min_spacing:
        raise RecurrenceError(
            f"occurrences at {earlier.isoformat()} and {later.isoformat()} are closer than "
            f"the minimum spacing of {bounds.min_spacing}"
        )


def validated_rule(
    data: SeriesCreate, now: datetime, bounds: RecurrenceBounds
) -> tuple[RecurrenceRule, Occurrence]:
    """The new series' rule and its first occurrence from now; 422 naming the bad field."""
    body = data.preset.to_rrule() if data.preset is not None else data.rrule
    assert body is not None
    rule_field = "preset" if data.preset is not None else "rrule"
    try:
        rule = parse_rule(body, data.timezone, data.start, bounds)
        sample = _first_occurrences(rule, now, bounds)
        for earlier, later in pairwise(sample):
            check_spacing(earlier.utc, later.utc, bounds)
    except RecurrenceError as exc:
        raise invalid_field(rule_field if exc.field == "rrule" else exc.field, str(exc)) from exc
    return rule, sample[0]
