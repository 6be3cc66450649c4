"""Target lines: each benchmark records its figures against their targets; `make bench`
prints them all at the end.

Benchmarks run as subprocesses of `python -m bench`, so a record also goes, one JSON line
each, to the file named by $TASKSTREAM_BENCH_TARGETS when that is set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "TASKSTREAM_BENCH_TARGETS"

_recorded: list[dict[str, object]] = []


def record(name: str, figure: float | None, target: str, unit: str, met: bool) -> None:
    """One target: what was measured, what it is held to (e.g. "≥ 1.0"), and the verdict."""
    line = {"name": name, "figure": figure, "target": target, "unit": unit, "met": met}
    _recorded.append(line)
    print(_format(line), flush=True)
    if path := os.environ.get(ENV):
        with Path(path).open("a") as out:
            out.write(json.dumps(line) + "\n")


def _format(line: dict[str, object]) -> str:
    figure = line["figure"]
    shown = "n/a" if figure is None else f"{figure:g}"
    verdict = "met" if line["met"] else "MISSED"
    return f"target: {line['name']}: {shown} {line['unit']} (target {line['target']}): {verdict}"


def print_summary(path: Path | None = None) -> list[dict[str, object]]:
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
