"""The image config the Dockerfile's final stage produces: ENTRYPOINT, CMD, ENV, WORKDIR, USER."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO_ROOT / "Dockerfile"
# ${VAR}, ${VAR:-word}, ${VAR:+word} and $VAR: the substitutions Dockerfile ENV supports.
_VARIABLE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


@dataclass(frozen=True)
class ImageConfig:
    """What `docker inspect` would show for the built image (the parts a container uses)."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = ""


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs: continuations joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n", " ", text)
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def final_stage(text: str) -> list[tuple[str, str]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            stages.append([])
        elif stages:
            stages[-1].append((keyword, rest))
    if not stages:
        raise ValueError("the Dockerfile has no FROM")
    return stages[-1]


def substitute(value: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        current = env.get(name, "")
        if match.group(2) == "-":
            return current or match.group(3)
        if match.group(2) == "+":
            return match.group(3) if current else ""
        return current

    return _VARIABLE.sub(replace, value)


def _command_form(rest: str) -> tuple[str, ...]:
    """Exec form is a JSON array; anything else is shell form, run by /bin/sh -c."""
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(part, str) for part in parsed):
            return tuple(parsed)
    return ("/bin/sh", "-c", rest)


def _env_pairs(rest: str) -> list[tuple[str, str]]:
    tokens = shlex.split(rest, posix=True)
    if tokens and "=" not in tokens[0]:
        # The legacy form `ENV KEY value with spaces` sets one variable.
        key, _, value = rest.partition(" ")
        return [(key, value.strip())]
    return [(token.partition("=")[0], token.partition("=")[2]) for token in tokens]


def image_config(text: str, base_env: Mapping[str, str]) -> ImageConfig:
    """Apply the final stage to the base image's ENV (`base_env`, e.g. its PATH)."""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env = dict(base_env)
    workdir = "/"
    user = ""
    for keyword, rest in final_stage(text):
        if keyword == "ENTRYPOINT":
            entrypoint = _command_form(rest)
            # Docker: setting ENTRYPOINT clears a CMD inherited from the base image.
            cmd = ()
        elif keyword == "CMD":
            cmd = _command_form(rest)
        elif keyword == "ENV":
            # Every pair in one ENV sees the values from before that instruction.
            before = dict(env)
            env.update({key: substitute(value, before) for key, value in _env_pairs(rest)})
        elif keyword == "WORKDIR":
            path = substitute(rest, env)
            workdir = path if path.startswith("/") else f"{workdir.rstrip('/')}/{path}"
        elif keyword == "USER":
            user = substitute(rest, env)
    return ImageConfig(entrypoint, cmd, env, workdir, user)


def repository_image(base_env: Mapping[str, str]) -> ImageConfig:
    return image_config(DOCKERFILE.read_text(encoding="utf-8"), base_env)
