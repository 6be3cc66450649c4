"""Request bodies the end-to-end checks share, so every tier drives the same scenario."""

from __future__ import annotations

from typing import Any

# The README's after-completion example: completing one occurrence yields the next.
AFTER_COMPLETION_SERIES: dict[str, Any] = {
    "title": "Water plants",
    "preset": {"frequency": "daily", "interval": 3},
    "mode": "after_completion",
    "start": "2030-01-01T08:00:00",
    "timezone": "Europe/Paris",
}
