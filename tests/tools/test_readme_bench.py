"""The README's benchmark table is generated from a `make bench` run's own files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.dev.readme_bench import BEGIN, END, README, embed, read_run, table

MACHINE = {
    "start": {
        "when": "2026-11-30T17:00:00+00:00",
        "cpus": 2,
        "python": "3.11.7",
        "platform": "Linux",
        "load_average": [0.4, 0.9, 1.2],
    },
    "end": {"load_average": [1.9, 1.5, 1.3]},
    "runs": [
        {"name": "api", "load_average_before": [0.4, 0.9, 1.2], "seconds": 321.4, "exit": 0},
        {"name": "events", "load_average_before": [2.5, 1.0, 1.0], "seconds": 60.0, "exit": 1},
    ],
}
LINES = [
    {
        "name": "render prod",
        "figure": 1.62,
        "target": 1.5,
        "unit": "s",
        "relation": "<=",
        "met": False,
    },
    {"name": "api get c=10 | peer", "figure": 1.41, "target": "≥ 1.0", "unit": "x", "met": True},
]


def _run(tmp_path: Path, lines: list[dict[str, object]]) -> Path:
    (tmp_path / "targets.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (tmp_path / "machine.json").write_text(json.dumps(MACHINE))
    return tmp_path


def test_the_table_shows_every_target_its_verdict_and_the_load(tmp_path: Path) -> None:
    lines, machine = read_run(_run(tmp_path, LINES))
    block = table(lines, machine)
    assert "| render prod | 1.62 s | <= 1.5 s | missed |" in block
    assert "| api get c=10 \\| peer | 1.41 x | ≥ 1.0 | met |" in block
    assert "1 of 2 targets met." in block
    assert "0.4 / 0.9 / 1.2 at the start and 1.9 / 1.5 / 1.3 at the end" in block
    assert "api 321 s (load 0.4)" in block
    assert "events 60 s (load 2.5, exit 1)" in block


def test_embedding_replaces_only_the_block_between_the_markers() -> None:
    readme = f"intro\n{BEGIN}\nold table\n{END}\noutro\n"
    assert embed(readme, "new table\n") == f"intro\n{BEGIN}\nnew table\n{END}\noutro\n"
    with pytest.raises(ValueError, match="no benchmark markers"):
        embed("no markers here", "x")


def test_a_run_without_targets_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make bench"):
        read_run(tmp_path)
    with pytest.raises(ValueError, match="no targets"):
        read_run(_run(tmp_path, []))


def test_the_readme_has_the_markers_once() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1
    assert text.count(END) == 1
    assert text.index(BEGIN) > text.index("## Performance")
