"""The image config read from a Dockerfile's final stage, as a builder would produce it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.deployed.image import ImageConfig, image_config, repository_image

BASE = {"PATH": "/usr/local/bin:/usr/bin"}


Build = Callable[[str], ImageConfig]


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """Read a Dockerfile written from text."""

    def config_of(text: str) -> ImageConfig:
        (tmp_path / "Dockerfile").write_text(text)
        return image_config(tmp_path / "Dockerfile", BASE)

    return config_of


def test_only_the_final_stage_counts_and_entrypoint_clears_an_earlier_cmd(build: Build) -> None:
    config = build(
        'FROM a AS build\nENV BUILD_ONLY=1\nCMD ["x"]\nFROM b\nCMD ["serve"]\nENTRYPOINT ["tool"]\n'
    )

    assert config.entrypoint == ("tool",), "the final stage's ENTRYPOINT was not read"
    assert config.cmd == (), "ENTRYPOINT set after CMD must clear it, as Docker does"
    assert "BUILD_ONLY" not in config.env, "a builder stage's ENV leaked into the image"


def test_shell_form_runs_through_sh_and_exec_form_is_taken_literally(build: Build) -> None:
    config = build('FROM b\nENTRYPOINT tool --flag "a b"\nCMD ["api", "--x"]\n')

    assert config.entrypoint == ("/bin/sh", "-c", 'tool --flag "a b"'), config.entrypoint
    assert config.cmd == ("api", "--x"), config.cmd


def test_env_pairs_in_one_instruction_see_the_values_from_before_it(build: Build) -> None:
    config = build(
        'FROM b\nENV A=one\nENV A=two B=$A C="/opt/x/bin:${PATH}" \\\n    D=${MISSING:-fallback}\n'
        "ENV LEGACY some value\n"
    )

    assert config.env["A"] == "two"
    assert config.env["B"] == "one", "a pair saw a value set in its own instruction"
    assert config.env["C"] == "/opt/x/bin:/usr/local/bin:/usr/bin", config.env["C"]
    assert config.env["D"] == "fallback", config.env["D"]
    assert config.env["LEGACY"] == "some value", "the legacy `ENV KEY value` form was misread"


def test_workdir_is_relative_to_the_previous_one_and_user_is_kept_verbatim(build: Build) -> None:
    config = build("FROM b\nWORKDIR /srv\nWORKDIR app\nUSER 10:20\n")

    assert config.workdir == "/srv/app"
    assert config.user == "10:20"


def test_the_repository_image_runs_the_console_script_as_a_numeric_user_writing_to_tmp() -> None:
    config = repository_image(BASE)

    assert config.entrypoint == ("taskstream",), config.entrypoint
    assert config.cmd == ("api",), config.cmd
    assert config.env["PATH"].startswith("/opt/venv/bin:"), config.env["PATH"]
    assert config.env["PATH"].endswith(BASE["PATH"]), "the base image's PATH was dropped"
    assert (config.env["HOME"], config.env["TMPDIR"], config.workdir) == ("/tmp", "/tmp", "/tmp")
    assert config.user.partition(":")[0].isdigit(), f"USER {config.user} is not numeric"
