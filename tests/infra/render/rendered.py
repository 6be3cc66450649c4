"""Each stack rendered once through the CLI, with the recording the render ran on."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import infra.render.run
from infra.render.recording import RecordedResource, Recording
from infra.render.source import Source
from taskstream.cli import cli

ROOT = Path(__file__).resolve().parents[3]
STACKS = ("dev", "prod", "local")
# Files a render must clear (it owns kubernetes/) or keep (it does not own notes.txt).
STALE = Path("kubernetes", "old", "deployment-gone.yaml")
FOREIGN = Path("notes.txt")


@dataclass(frozen=True)
class Rendered:
    stack: str
    out: Path
    exit_code: int
    output: str
    recording: Recording

    def load(self, relative: Path) -> object:
        return yaml.safe_load((self.out / relative).read_text(encoding="utf-8"))


def invoke(stack: str, out: Path, project_dir: Path = ROOT) -> Rendered:
    """`taskstream render` through typer's runner, keeping the recording it rendered."""
    recordings: list[Recording] = []
    original = infra.render.run.record

    def keep(source: Source) -> Recording:
        recordings.append(original(source))
        return recordings[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.render.run, "record", keep)
        args = ["render", "--stack", stack, "--out", str(out), "--project-dir", str(project_dir)]
        result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"render {stack} crashed: {result.exception!r}\n{result.output}"
    )
    recording = recordings[0] if recordings else Recording()
    return Rendered(stack, out, result.exit_code, result.output, recording)


@functools.cache
def rendered(stack: str, base: Path) -> Rendered:
    out = base / stack
    for seeded in (STALE, FOREIGN):
        (out / seeded).parent.mkdir(parents=True, exist_ok=True)
        (out / seeded).write_text("left from an earlier render\n", encoding="utf-8")
    return invoke(stack, out)


def component(resource: RecordedResource, recording: Recording) -> str:
    """The top-level component above `resource`, found from the URNs alone."""
    by_urn = {r.urn: r for r in recording.resources}
    while resource.parent in by_urn:
        resource = by_urn[resource.parent]
    return resource.name if not resource.custom else "stack"
