"""The plan summary: resource counts by type and by component, and the dependency order."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from infra.render.graph import Step, components, dependency_order
from infra.render.recording import Recording


@dataclass(frozen=True)
class Plan:
    stack: str
    by_type: dict[str, int]
    by_component: dict[str, int]
    order: list[Step]

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": self.total,
            "byType": self.by_type,
            "byComponent": self.by_component,
            "order": [asdict(step) for step in self.order],
        }


def summarize(stack: str, recording: Recording) -> Plan:
    """Counts of every recorded resource (components and providers included) and their order."""
    by_type = Counter(r.type for r in recording.resources)
    by_component = Counter(components(recording).values())
    return Plan(
        stack=stack,
        by_type=dict(sorted(by_type.items())),
        by_component=dict(sorted(by_component.items())),
        order=dependency_order(recording),
    )


def table(rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> str:
    """A plain-text table whose columns are as wide as their widest cell."""
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [headers, tuple("-" * w for w in widths), *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def short_type(token: str) -> str:
    """`digitalocean:index/vpc:Vpc` as `digitalocean:Vpc`; other tokens unchanged."""
    package, _, rest = token.partition(":")
    module, _, name = rest.rpartition(":")
    return f"{package}:{name}" if module.startswith("index/") else token


def plan_text(plan: Plan) -> str:
    """The plan as three tables: by type, by component, and the order waves."""
    by_type = table([(t, str(n)) for t, n in plan.by_type.items()], ("type", "count"))
    by_component = table(
        [(c, str(n)) for c, n in plan.by_component.items()], ("component", "count")
    )
    order = table(
        [
            (str(i), str(s.wave), s.component, short_type(s.type), s.name)
            for i, s in enumerate(plan.order, 1)
        ],
        ("#", "wave", "component", "type", "name"),
    )
    return (
        f"plan for {plan.stack}: {plan.total} resources\n\n{by_type}\n\n{by_component}\n\n"
        f"dependency order (a wave waits only for earlier waves)\n{order}"
    )
