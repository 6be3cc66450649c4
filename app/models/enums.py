"""Enumerations shared by tasks and series."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    done = "done"


class Priority(StrEnum):
    urgent = "urgent"
    high = "high"
    medium = "medium"
    low = "low"

    @property
    def rank(self) -> int:
        """Stored rank: sorting by it descending lists the most urgent first."""
        return _RANKS[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        return _BY_RANK[rank]


_RANKS = {Priority.urgent: 4, Priority.high: 3, Priority.medium: 2, Priority.low: 1}
_BY_RANK = {rank: priority for priority, rank in _RANKS.items()}


class SeriesMode(StrEnum):
    schedule = "schedule"
    after_completion = "after_completion"
