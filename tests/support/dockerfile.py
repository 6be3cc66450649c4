"""The repository's Dockerfile read as instructions, and the argv Kubernetes would run from it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"

Instruction = tuple[str, str]


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pairs = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, rest = stripped.partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stages(path: Path = DOCKERFILE) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for keyword, rest in instructions(path):
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def final_stage(path: Path = DOCKERFILE) -> list[Instruction]:
    return stages(path)[-1]


def _exec_form(rest: str) -> list[str]:
    # The shell form runs through /bin/sh -c, as Docker documents for ENTRYPOINT and CMD.
    if rest.startswith("["):
        value = json.loads(rest)
        assert isinstance(value, list), f"not an exec-form list: {rest}"
        assert all(isinstance(v, str) for v in value), f"not a list of strings: {rest}"
        return value
    return ["/bin/sh", "-c", rest]


def image_entrypoint_and_cmd(path: Path = DOCKERFILE) -> tuple[list[str], list[str]]:
    """The final stage's ENTRYPOINT and CMD; the last of each wins, as in the image config."""
    entrypoint: list[str] = []
    cmd: list[str] = []
    for keyword, rest in final_stage(path):
        if keyword == "ENTRYPOINT":
            entrypoint = _exec_form(rest)
            # Setting ENTRYPOINT resets a CMD inherited from earlier in the stage or the base.
            cmd = []
        elif keyword == "CMD":
            cmd = _exec_form(rest)
    return entrypoint, cmd


def container_argv(container: Mapping[str, Any], path: Path = DOCKERFILE) -> list[str]:
    """The argv the kubelet starts: `command` replaces ENTRYPOINT and drops CMD; `args` replaces
    CMD only (Kubernetes "Define a Command and Arguments for a Container")."""
    entrypoint, cmd = image_entrypoint_and_cmd(path)
    command = container.get("command")
    args = container.get("args")
    if command is not None:
        return [*command, *(args or [])]
    return [*entrypoint, *(args if args is not None else cmd)]
