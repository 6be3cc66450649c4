"""The content tag of the image `pulumi up` builds: what the build context holds, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra.image_context import context_files, context_tag, is_ignored, parse_dockerignore
from tests.infra.stacks import ROOT

# This repository's .dockerignore, in miniature: an allow-list with excluded caches.
IGNORE = """\
*
!pyproject.toml
!app/
**/__pycache__
**/*.py[cod]
**/.venv
"""


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / ".dockerignore").write_text(IGNORE)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY . /src\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print('hello')\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_main.py").write_text("def test(): pass\n")
    return tmp_path


def test_the_context_holds_what_the_allow_list_lets_through(context: Path) -> None:
    (context / "app" / "__pycache__").mkdir()
    (context / "app" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (context / "app" / ".venv" / "lib").mkdir(parents=True)
    (context / "app" / ".venv" / "lib" / "x.py").write_text("")
    assert list(context_files(context)) == ["app/main.py", "pyproject.toml"]


def test_the_same_content_gives_the_same_tag(context: Path) -> None:
    tag = context_tag(context)
    assert tag.startswith("ctx-"), tag
    assert len(tag) == len("ctx-") + 20, tag
    assert context_tag(context) == tag


@pytest.mark.parametrize(
    "change",
    [
        lambda c: (c / "app" / "main.py").write_text("print('changed')\n"),
        lambda c: (c / "app" / "new.py").write_text(""),
        lambda c: (c / "app" / "main.py").rename(c / "app" / "renamed.py"),
        lambda c: (c / "Dockerfile").write_text("FROM scratch\n"),
        lambda c: os.chmod(c / "app" / "main.py", 0o700),
    ],
    ids=["content", "new file", "rename", "dockerfile", "executable bit"],
)
def test_a_change_the_image_would_contain_changes_the_tag(context: Path, change: object) -> None:
    before = context_tag(context)
    change(context)  # type: ignore[operator]
    assert context_tag(context) != before


@pytest.mark.parametrize(
    "change",
    [
        lambda c: (c / "tests" / "test_main.py").write_text("def test(): assert 0\n"),
        lambda c: (c / "README.md").write_text("docs\n"),
        lambda c: (c / "app" / "main.pyc").write_bytes(b"\1"),
    ],
    ids=["ignored test", "ignored file", "ignored bytecode"],
)
def test_a_change_outside_the_context_keeps_the_tag(context: Path, change: object) -> None:
    before = context_tag(context)
    change(context)  # type: ignore[operator]
    assert context_tag(context) == before


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("Dockerfile", True),  # sent apart from the context
        ("pyproject.toml", False),
        ("app", False),
        ("app/models.py", False),
        ("app/sub/__pycache__/m.pyc", True),
        ("app/x.pyo", True),
        ("app/x.py", False),
        ("tests/test_x.py", True),
        ("policy/.venv/bin/python", True),
    ],
)
def test_dockerignore_rules_follow_docker(path: str, ignored: bool) -> None:
    # Later lines win, `!` re-includes, and a matching directory covers what is below it
    # (https://docs.docker.com/build/concepts/context/#dockerignore-files).
    patterns = parse_dockerignore(IGNORE + "!policy/\n**/.venv\n")
    assert is_ignored(path, patterns) is ignored


def test_the_repository_context_is_the_packages_and_the_project_metadata() -> None:
    tops = {path.split("/", 1)[0] for path in context_files(ROOT)}
    packages = {"taskstream", "app", "workers", "infra", "policy"}
    assert tops <= {"pyproject.toml", "uv.lock", "README.md", *packages}
    assert {"pyproject.toml", "uv.lock", "taskstream", "app", "infra"} <= tops
    assert not [p for p in context_files(ROOT) if "/.venv/" in p or "__pycache__" in p]
