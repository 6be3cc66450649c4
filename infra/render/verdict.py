"""The policy pack's rules over the rendered resources, as the preview would apply them."""

from __future__ import annotations

from collections.abc import Sequence

from infra.render.recording import Recording
from infra.render.redact import redact
from policy.model import Resource, Violation
from policy.rules import evaluate


def policy_resources(recording: Recording) -> list[Resource]:
    """Every recorded resource as the pack sees it, with the redacted inputs the render shows."""
    return [Resource(r.type, r.name, redact(r.inputs), r.protect) for r in recording.resources]


def check(resources: Sequence[Resource], stack: str) -> list[Violation]:
    return evaluate(resources, stack)
