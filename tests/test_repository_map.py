"""The README's "What is in the repository" table names paths that exist, and every package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def table_paths(readme: str) -> list[str]:
    section = readme.split("## What is in the repository", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


def test_every_path_in_the_table_exists() -> None:
    paths = table_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    assert paths, "the table was not found"
    assert [p for p in paths if not (ROOT / p).exists()] == []


def test_every_top_level_package_has_a_row() -> None:
    paths = {p.rstrip("/") for p in table_paths((ROOT / "README.md").read_text("utf-8"))}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"bench"}
    assert packages - paths == set()


def test_a_row_for_a_path_that_is_gone_is_found() -> None:
    readme = "## What is in the repository\n\n| path | what |\n|---|---|\n| `app/render/` | x |\n"
    assert [p for p in table_paths(readme) if not (ROOT / p).exists()] == ["app/render/"]
