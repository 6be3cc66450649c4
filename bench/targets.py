"""The targets a benchmark is held to, reported in one shape by every benchmark.

Each benchmark prints a line per target it measures:

    target: render prod, fresh process  1.62 s  <= 1.5 s  missed

Benchmarks run as subprocesses of `python -m bench`, so each line also goes, as one JSON
object, to the file named by $TASKSTREAM_BENCH_TARGETS when that is set; `make bench`
prints them all again at the end (print_summary).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV = "TASKSTREAM_BENCH_TARGETS"

_recorded: list[dict[str, Any]] = []


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

    @property
    def relation(self) -> str:
        return ">=" if self.at_least else "<="

    def line(self) -> str:
        return _format(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "figure": self.figure,
            "target": self.bound,
            "unit": self.unit,
            "relation": self.relation,
            "met": self.met,
        }


def report(targets: Iterable[Target]) -> list[dict[str, Any]]:
    """Print and record a line per target; the same targets as JSON, for a figures file."""
    return [_emit(target.to_json()) for target in targets]


def record(name: str, figure: float | str | None, target: str, unit: str, met: bool) -> str:
    """A target whose bound is not one number (e.g. ">= 1.0 of the peer"): a verdict given.
    Returns the printed line."""
    line = {"name": name, "figure": figure, "target": target, "unit": unit, "met": met}
    return _format(_emit(line))


def _emit(line: dict[str, Any]) -> dict[str, Any]:
    _recorded.append(line)
    print(_format(line), flush=True)
    if path := os.environ.get(ENV):
        with Path(path).open("a") as out:
            out.write(json.dumps(line) + "\n")
    return line


def parts(line: dict[str, Any]) -> tuple[str, str, str]:
    """A recorded target as shown: the figure with its unit, the bound, and the verdict."""
    unit = f" {line['unit']}" if line.get("unit") else ""
    figure = line["figure"]
    if figure is None:
        shown = "n/a"
    elif isinstance(figure, int | float):
        shown = f"{figure:g}{unit}"
    else:
        shown = f"{figure}{unit}"
    bound = line["target"]
    if "relation" in line:
        bound = f"{line['relation']} {bound:g}{unit}"
    return shown, str(bound), "met" if line["met"] else "missed"


def _format(line: dict[str, Any]) -> str:
    shown, bound, verdict = parts(line)
    return f"target: {line['name']}  {shown}  {bound}  {verdict}"


def print_summary(path: Path | None = None) -> list[dict[str, Any]]:
    """Every target recorded in this process, or in `path`; returns them."""
    lines = (
        [json.loads(raw) for raw in path.read_text().splitlines() if raw.strip()]
        if path is not None and path.exists()
        else list(_recorded)
    )
    print("== targets ==")
    for line in lines:
        print(_format(line))
    missed = sum(not line["met"] for line in lines)
    print(f"{len(lines) - missed} met, {missed} missed")
    return lines
