"""The stack a render starts from: its Pulumi.<stack>.yaml, with stand-ins for secret config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from infra.config import SECRET_KEYS
from infra.config_model import StackConfig
from infra.render.mock_answers import SECRET_MARKER
from infra.render.offline import run_offline
from infra.render.recording import Recording
from infra.render.stack_files import load_stack, raw_stack_config


class StackNotFoundError(LookupError):
    """No Pulumi.<stack>.yaml in the project directory."""


@dataclass(frozen=True)
class Source:
    """A stack config parsed offline, and which secret keys were stood in for."""

    config: StackConfig
    stand_ins: tuple[str, ...]


def available_stacks(project_dir: Path) -> list[str]:
    names = (
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in _stack_files(project_dir)
    )
    return sorted(names)


def _stack_files(project_dir: Path) -> list[Path]:
    return [p for p in project_dir.glob("Pulumi.*.yaml") if p.name.count(".") == 2]


def secret_stand_ins(raw: dict[str, str]) -> dict[str, str]:
    """A value for every secret key the stack file cannot provide offline.

    Each carries SECRET_MARKER, so a stand-in that reaches an output file unredacted is
    found by the same search that finds the mock engine's own secrets.
    """
    stand_ins: dict[str, str] = {}
    for key in SECRET_KEYS:
        if key in raw:
            continue
        if key == "alertWebhookUrls":
            receivers = json.loads(raw.get("alertReceivers") or "[]")
            if receivers:
                urls = {name: f"https://hooks.invalid/{SECRET_MARKER}/{name}" for name in receivers}
                stand_ins[key] = json.dumps(urls)
        elif key == "kagentApiKey":
            # Only a stack that turns kagent on needs (and accepts) its key.
            if (raw.get("kagent") or "").strip().lower() == "true":
                stand_ins[key] = SECRET_MARKER
        else:
            stand_ins[key] = SECRET_MARKER
    return stand_ins


def load_source(stack: str, project_dir: Path) -> Source:
    """Parse `project_dir/Pulumi.<stack>.yaml`; raises ConfigError for a bad value."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(available_stacks(project_dir)) or "none"
        raise StackNotFoundError(f"no {path.name} in {project_dir} (stacks there: {known})")
    stand_ins = secret_stand_ins(raw_stack_config(path))
    config = load_stack(stack, project_dir, stand_ins)
    return Source(config=config, stand_ins=tuple(sorted(stand_ins)))


def record(source: Source) -> Recording:
    """Run the platform program for the stack under the recording mock engine."""
    return run_offline(source.config)
