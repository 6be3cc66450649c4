"""`taskstream render` reads plainly given options itself and leaves the rest to typer."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from taskstream.cli import cli
from taskstream.cli_render import OPTIONS, REQUIRED, plain_options


def test_the_plain_options_are_the_ones_the_render_command_declares() -> None:
    group = typer.main.get_command(cli)
    command = group.commands["render"]  # type: ignore[attr-defined]
    declared = {flag for param in command.params for flag in param.opts}
    required = {flag for param in command.params if param.required for flag in param.opts}
    assert declared - {"--help"} == set(OPTIONS), declared
    assert required == set(REQUIRED), required


@pytest.mark.parametrize(
    "args",
    [
        ["render", "--stack", "prod", "--out", "out"],
        ["render", "--out=out", "--stack=prod"],
        ["render", "--stack", "prod", "--out", "out", "--project-dir", "."],
    ],
)
def test_plainly_given_render_options_are_read_without_typer(args: list[str]) -> None:
    assert plain_options(args) == ("prod", Path("out"), Path("."))


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["migrate"],
        ["render", "--help"],
        ["render", "--stack", "prod"],  # no --out: typer says it is missing
        ["render", "--stack", "prod", "--out"],
        ["render", "--stack", "prod", "--out", "--help"],
        ["render", "--stack", "prod", "--stack", "dev", "--out", "out"],
        ["render", "--stak", "prod", "--out", "out"],
        ["render", "--stack", "prod", "--out", "out", "extra"],
    ],
)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert plain_options(args) is None, args
