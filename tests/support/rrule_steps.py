"""Counts the periods dateutil's rrule visits, independently of the service's own budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from dateutil import rrule as dateutil_rrule

# dateutil asks its iteration helper for one of these day sets per period it visits.
_DAYSETS = ("ydayset", "mdayset", "wdayset", "ddayset")


class PeriodCounter:
    visited = 0


@contextmanager
def counting_dateutil_periods(monkeypatch: pytest.MonkeyPatch) -> Iterator[PeriodCounter]:
    counter = PeriodCounter()
    helper: Any = dateutil_rrule._iterinfo  # type: ignore[attr-defined]
    for name in _DAYSETS:
        original = getattr(helper, name)

        def counted(self: Any, *args: Any, _original: Callable[..., Any] = original) -> Any:
            counter.visited += 1
            return _original(self, *args)

        monkeypatch.setattr(helper, name, counted)
    yield counter
