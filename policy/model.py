"""The plain data the policy rules read: resources, violations, unknown values, stack context."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

PRODUCTION_STACKS = frozenset({"prod", "production"})


class _Unknown:
    """A value the engine cannot know yet (an output of a resource still to be created)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()
"""Stands for a computed value in resource inputs; rules never judge a value they cannot see."""


def is_unknown(value: object) -> bool:
    return isinstance(value, _Unknown)


class Resource(NamedTuple):
    """One registered resource as a policy sees it: Pulumi type token, name, inputs, protect."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    protect: bool = False


@dataclass(frozen=True)
class Violation:
    """A rule broken by one resource (or by the stack as a whole when the name is empty)."""

    policy: str
    resource_type: str
    resource_name: str
    message: str

    def __str__(self) -> str:
        subject = f"{self.resource_type} {self.resource_name!r}" if self.resource_name else "stack"
        return f"[{self.policy}] {subject}: {self.message}"


@dataclass(frozen=True)
class Context:
    """What a rule may know beyond the resource itself."""

    stack: str
    protect: bool = False
    resources: Sequence[Resource] = field(default_factory=tuple)

    @property
    def is_production(self) -> bool:
        return is_production(self.stack)


Check = Callable[[str, Mapping[str, Any], Context], list[str]]
"""A rule body: (type token, inputs, context) -> messages, one per thing wrong; [] when fine."""


@dataclass(frozen=True)
class Rule:
    """A named mandatory policy; ``cross_resource`` rules need ``Context.resources``."""

    name: str
    description: str
    check: Check
    cross_resource: bool = False


def is_production(stack: str) -> bool:
    """True for the prod stack, whether named bare or as ``org/project/prod``."""
    return stack.rsplit("/", 1)[-1].lower() in PRODUCTION_STACKS


def stack_from_urn(urn: str) -> str:
    """The stack name inside a URN: ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    parts = urn.split("::", 1)[0].split(":")
    return parts[2] if len(parts) >= 3 else ""


def as_resource(item: Resource | Sequence[Any]) -> Resource:
    """Accepts a ``Resource`` or a ``(type, name, inputs[, protect])`` tuple."""
    if isinstance(item, Resource):
        return item
    return Resource(*item)


def to_plain(value: Any, unknown_errors: tuple[type[BaseException], ...] = ()) -> Any:
    """Copies mappings and sequences (engine proxies included) into dicts and lists.

    An element whose read raises one of ``unknown_errors`` (pulumi-policy raises its
    ``UnknownValueError`` for values not known during preview) becomes ``UNKNOWN``.
    """
    if isinstance(value, Mapping):
        plain: dict[str, Any] = {}
        for key in value:
            try:
                plain[str(key)] = to_plain(value[key], unknown_errors)
            except unknown_errors:
                plain[str(key)] = UNKNOWN
        return plain
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(to_plain(value[index], unknown_errors))
            except unknown_errors:
                items.append(UNKNOWN)
        return items
    return value


def dig(data: Any, *path: str) -> Any:
    """Follows mapping keys, answering None where a key is missing or a level is not a mapping."""
    current = data
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return ()


def of_type(resources: Iterable[Resource], *types: str) -> list[Resource]:
    return [r for r in resources if r.type in types]
