"""The image config a Dockerfile's final stage produces: ENTRYPOINT, CMD, ENV, WORKDIR, USER."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.dockerfile import DOCKERFILE, final_stage, image_entrypoint_and_cmd

REPO_ROOT = DOCKERFILE.parent
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


def _env_pairs(rest: str) -> list[tuple[str, str]]:
    tokens = shlex.split(rest, posix=True)
    if tokens and "=" not in tokens[0]:
        # The legacy form `ENV KEY value with spaces` sets one variable.
        key, _, value = rest.partition(" ")
        return [(key, value.strip())]
    return [(token.partition("=")[0], token.partition("=")[2]) for token in tokens]


def image_config(path: Path, base_env: Mapping[str, str]) -> ImageConfig:
    """Apply the final stage to the base image's ENV (`base_env`, e.g. its PATH)."""
    entrypoint, cmd = image_entrypoint_and_cmd(path)
    env = dict(base_env)
    workdir = "/"
    user = ""
    for keyword, rest in final_stage(path):
        if keyword == "ENV":
            # Every pair in one ENV sees the values from before that instruction.
            before = dict(env)
            env.update({key: substitute(value, before) for key, value in _env_pairs(rest)})
        elif keyword == "WORKDIR":
            target = substitute(rest, env)
            workdir = target if target.startswith("/") else f"{workdir.rstrip('/')}/{target}"
        elif keyword == "USER":
            user = substitute(rest, env)
    return ImageConfig(tuple(entrypoint), tuple(cmd), env, workdir, user)


def repository_image(base_env: Mapping[str, str]) -> ImageConfig:
    return image_config(DOCKERFILE, base_env)
