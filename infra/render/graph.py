"""Where each recorded resource belongs (its component) and the order the engine creates them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from infra.render.recording import RecordedResource, Recording

STACK_COMPONENT = "stack"
"""The group of resources declared directly on the stack, outside every component."""


@dataclass(frozen=True)
class Step:
    """One resource in dependency order; resources of one wave may be created in parallel."""

    wave: int
    component: str
    type: str
    name: str


def component_of(resource: RecordedResource, by_urn: Mapping[str, RecordedResource]) -> str:
    """The name of the outermost ComponentResource above `resource` (itself if it is one)."""
    outermost: RecordedResource | None = None
    current: RecordedResource | None = resource
    while current is not None:
        if not current.custom:
            outermost = current
        current = by_urn.get(current.parent)
    return outermost.name if outermost is not None else STACK_COMPONENT


def components(recording: Recording) -> dict[str, str]:
    """The component name of every recorded resource, by URN."""
    by_urn = {r.urn: r for r in recording.resources}
    return {r.urn: component_of(r, by_urn) for r in recording.resources}


def _provider_urn(reference: str) -> str:
    # A provider reference is "<urn>::<id>"; the URN itself contains "::" separators.
    return reference.rsplit("::", 1)[0] if reference else ""


def _predecessors(resource: RecordedResource, known: Iterable[str]) -> set[str]:
    wanted = {resource.parent, _provider_urn(resource.provider), *resource.dependencies}
    return wanted & set(known)


def dependency_order(recording: Recording) -> list[Step]:
    """A topological order by parent, provider and dependencies, the same on every render.

    The wave is the length of the longest chain of predecessors, so everything in wave n
    only waits for waves before it; a cycle (which the engine would reject) raises. Within
    a wave the order is by component, type, name and URN: the program registers resources
    as their inputs resolve, in an order that differs from one run to the next.
    """
    resources = recording.resources
    urns = [r.urn for r in resources]
    before = {r.urn: _predecessors(r, urns) for r in resources}
    wave: dict[str, int] = {}
    pending = list(resources)
    while pending:
        ready = [r for r in pending if before[r.urn] <= wave.keys()]
        if not ready:
            names = ", ".join(r.name for r in pending)
            raise ValueError(f"the recorded resources form a dependency cycle among: {names}")
        for r in ready:
            wave[r.urn] = 1 + max((wave[u] for u in before[r.urn]), default=-1)
        pending = [r for r in pending if r.urn not in wave]
    component = components(recording)
    ordered = sorted(
        resources, key=lambda r: (wave[r.urn], component[r.urn], r.type, r.name, r.urn)
    )
    return [Step(wave[r.urn], component[r.urn], r.type, r.name) for r in ordered]
