"""Every rendered container, started from the image as the kubelet would, runs a real command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from infra.render.recording import Recording, reveal
from taskstream.cli import cli
from tests.support.dockerfile import container_argv, image_entrypoint_and_cmd

WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job")


def _containers(recorded: Recording) -> Iterator[tuple[str, dict[str, Any]]]:
    for type_ in WORKLOADS:
        for resource in recorded.of_type(type_):
            pod = reveal(resource.inputs)["spec"]["template"]["spec"]
            for container in (*pod.get("initContainers", []), *pod["containers"]):
                yield f"{resource.name}/{container['name']}", container


def _parse_as_the_cli_would(argv: list[str]) -> None:
    """Resolve the subcommand and parse its arguments without running it (raises on misuse)."""
    group = typer.main.get_command(cli)
    # A bare context: the group's own parsing would show help on an empty argv instead.
    ctx = group.context_class(group, info_name="taskstream")
    name, command, rest = group.resolve_command(ctx, list(argv))
    assert command is not None, f"{argv} names no taskstream command"
    assert name is not None, f"{argv} names no taskstream command"
    command.make_context(name, rest, parent=ctx)


def test_the_rendered_containers_of_every_workload_run_the_taskstream_cli(
    recorded: Recording, stack: str
) -> None:
    entrypoint, _ = image_entrypoint_and_cmd()
    seen = 0
    for where, container in _containers(recorded):
        if "taskstream" not in str(container.get("image", "")):
            continue
        seen += 1
        argv = container_argv(container)
        assert argv[: len(entrypoint)] == entrypoint, f"{stack}/{where} bypasses the entrypoint"
        try:
            _parse_as_the_cli_would(argv[len(entrypoint) :])
        except typer.TyperException as error:
            pytest.fail(f"{stack}/{where} would run {argv}, which the CLI refuses: {error}")
    assert seen, f"{stack} renders no container from the taskstream image"
