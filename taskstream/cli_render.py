"""`taskstream render` without typer's start-up when its options are given plainly."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from pathlib import Path

# The options of `taskstream render` as the command line declares them (taskstream/cli.py);
# tests/taskstream/test_cli_render.py holds the two to the same names.
OPTIONS = ("--stack", "--out", "--project-dir")
REQUIRED = ("--stack", "--out")


def plain_options(args: Sequence[str]) -> tuple[str, Path, Path] | None:
    """`render`'s stack, out and project dir when `args` are `render` and its options, each
    given once (`--out DIR` or `--out=DIR`); None for anything else, which typer then
    parses and explains (`--help`, a typo, a missing option)."""
    if list(args[:1]) != ["render"]:
        return None
    given: dict[str, str] = {}
    rest = list(args[1:])
    while rest:
        flag, equals, value = rest.pop(0).partition("=")
        if not equals:
            value = rest.pop(0) if rest else ""
        if flag not in OPTIONS or flag in given or not value or value.startswith("-"):
            return None
        given[flag] = value
    if any(flag not in given for flag in REQUIRED):
        return None
    return given["--stack"], Path(given["--out"]), Path(given.get("--project-dir", "."))


def render(stack: str, out: Path, project_dir: Path, echo: Callable[..., None]) -> int:
    """Render and report (infra.render.command); the exit code."""
    from infra.render.command import run_command

    # A render makes ~200k objects that live as long as its process (the SDKs' generated
    # classes) and little cyclic garbage: the collector's passes over them, and the
    # interpreter's at exit, were a third of a fresh render's CPU (docs/render.md,
    # "How fast"). Frozen, they are not scanned again; the render's own garbage (~2 MB)
    # goes with them.
    gc.disable()
    try:
        return run_command(stack, out, project_dir, echo)
    finally:
        gc.freeze()
        gc.enable()
