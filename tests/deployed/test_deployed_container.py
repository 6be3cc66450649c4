"""A container's argv and paths as the kubelet and the runtime form them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.deployed.container import PathMap, kubelet_argv, resolve_executable
from tests.support.deployed.image import ImageConfig
from tests.support.deployed.objects import ManifestError

IMAGE = ImageConfig(entrypoint=("taskstream",), cmd=("api",))


def test_neither_command_nor_args_runs_the_image_entrypoint_and_cmd() -> None:
    assert kubelet_argv({"name": "c"}, IMAGE, {}) == ["taskstream", "api"]


def test_args_alone_replace_cmd_and_keep_the_entrypoint() -> None:
    argv = kubelet_argv({"name": "c", "args": ["worker", "notifier"]}, IMAGE, {})

    assert argv == ["taskstream", "worker", "notifier"]


def test_args_repeating_the_entrypoint_run_it_twice_as_the_kubelet_would() -> None:
    argv = kubelet_argv({"name": "c", "args": ["taskstream", "migrate"]}, IMAGE, {})

    assert argv == ["taskstream", "taskstream", "migrate"], "the kubelet appends args"


def test_command_replaces_the_entrypoint_and_drops_cmd() -> None:
    assert kubelet_argv({"name": "c", "command": ["sh"]}, IMAGE, {}) == ["sh"]
    both = kubelet_argv({"name": "c", "command": ["sh"], "args": ["-c", "x"]}, IMAGE, {})
    assert both == ["sh", "-c", "x"]


def test_references_expand_from_the_containers_env_and_double_dollar_escapes() -> None:
    argv = kubelet_argv(
        {"name": "c", "args": ["$(MODE)", "$$(MODE)", "$(UNSET)"]}, IMAGE, {"MODE": "relay"}
    )

    assert argv == ["taskstream", "relay", "$(MODE)", "$(UNSET)"], argv


def test_an_image_without_entrypoint_or_cmd_and_no_command_is_refused() -> None:
    with pytest.raises(ManifestError):
        kubelet_argv({"name": "c"}, ImageConfig(), {})


def test_paths_map_by_longest_prefix_and_only_on_whole_components(tmp_path: Path) -> None:
    paths = PathMap.of({"/opt/venv": tmp_path / "venv", "/tmp": tmp_path / "tmp"})

    assert paths.value("/opt/venv/bin:/usr/bin") == f"{tmp_path}/venv/bin:/usr/bin"
    assert paths.path("/tmp") == f"{tmp_path}/tmp"
    assert paths.path("/tmpfs/x") == "/tmpfs/x", "a prefix matched inside a component"
    assert paths.value("http://127.0.0.1:3500") == "http://127.0.0.1:3500", "a URL was mangled"


def test_a_bare_argv0_is_found_on_the_containers_path_only(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    paths = PathMap.of({})

    assert resolve_executable("tool", {"PATH": str(tmp_path / "bin")}, paths) == str(tool)
    with pytest.raises(ManifestError, match="not found"):
        resolve_executable("tool", {"PATH": "/nonexistent"}, paths)
