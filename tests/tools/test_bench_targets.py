"""The one line every benchmark prints per target: figure, target, met or missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import targets as bench_targets
from bench.render_bench import TARGET_MODE, targets
from bench.targets import Target, report


def test_a_ceiling_is_met_at_or_below_it_and_missed_above() -> None:
    assert Target("render prod", 1.5, 1.5, "s").met
    missed = Target("render prod, fresh process", 1.62, 1.5, "s")
    assert not missed.met
    assert missed.line() == "target: render prod, fresh process  1.62 s  <= 1.5 s  missed"


def test_a_floor_is_met_at_or_above_it() -> None:
    drain = Target("backlog drain", 1200, 1000, "events/s", at_least=True)
    assert drain.line() == "target: backlog drain  1200 events/s  >= 1000 events/s  met"
    assert not Target("backlog drain", 320, 1000, "events/s", at_least=True).met


def test_report_prints_each_line_and_returns_the_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    figures = report([Target("a", 2.0, 1.5, "s")])
    assert capsys.readouterr().out == "target: a  2 s  <= 1.5 s  missed\n"
    assert figures == [
        {"name": "a", "figure": 2.0, "target": 1.5, "unit": "s", "relation": "<=", "met": False}
    ]


def test_the_render_bench_holds_a_fresh_render_of_prod_to_1_5_s() -> None:
    rows: list[dict[str, object]] = [
        {"stack": "prod", "mode": TARGET_MODE, "median_s": 2.1},
        {"stack": "prod", "mode": "in-process, warm", "median_s": 0.5},
        {"stack": "dev", "mode": TARGET_MODE, "median_s": 2.0},
    ]
    (only,) = targets(rows)
    assert only.line() == "target: render prod, fresh process  2.1 s  <= 1.5 s  missed"


def test_a_recorded_verdict_is_printed_and_collected_for_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    collected = tmp_path / "targets.jsonl"
    monkeypatch.setenv(bench_targets.ENV, str(collected))
    line = bench_targets.record("lost / applied twice", "0 / 1", "0 / 0", "", False)
    assert line == "target: lost / applied twice  0 / 1  0 / 0  missed"
    assert capsys.readouterr().out == line + "\n"
    [summary] = bench_targets.print_summary(collected)
    assert summary["figure"] == "0 / 1"
    assert not summary["met"]
    assert "0 met, 1 missed" in capsys.readouterr().out
