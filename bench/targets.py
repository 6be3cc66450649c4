"""The targets a benchmark is held to, reported in one shape by every benchmark.

Each benchmark prints a line per target it measures, so `make bench` (`python -m bench`)
shows every target with its figure, the target and whether it was met:

    target: render prod, fresh process  1.62 s  <= 1.5 s  missed
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """A figure measured against a bound: at most `bound` unless `at_least`."""

    name: str
    figure: float
    bound: float
    unit: str = ""
    at_least: bool = False

    @property
    def met(self) -> bool:
        return self.figure >= self.bound if self.at_least else self.figure <= self.bound

    def line(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        relation = ">=" if self.at_least else "<="
        verdict = "met" if self.met else "missed"
        bound = f"{relation} {self.bound:g}{unit}"
        return f"target: {self.name}  {self.figure:g}{unit}  {bound}  {verdict}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "figure": self.figure,
            "target": self.bound,
            "unit": self.unit,
            "relation": ">=" if self.at_least else "<=",
            "met": self.met,
        }


def report(targets: Iterable[Target]) -> list[dict[str, Any]]:
    """Print a line per target; the same targets as JSON, for the benchmark's figures file."""
    listed = list(targets)
    for target in listed:
        print(target.line())
    return [target.to_json() for target in listed]
