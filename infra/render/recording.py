"""What the mock engine keeps of a run (resources, invokes, outputs) and its secret wrapper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc

_SECRET_SIG = rpc._special_sig_key
_SECRET_VALUE = rpc._special_secret_sig


@dataclass
class RecordedResource:
    type: str
    name: str
    urn: str
    custom: bool
    inputs: dict[str, Any]
    parent: str
    provider: str
    dependencies: list[str]
    protect: bool
    deleted_with: str
    ignore_changes: list[str]
    # Per input key, the URNs whose outputs that input was built from (the engine's
    # propertyDependencies): what tells a name typed as a string from one read off a resource.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    retain_on_delete: bool = False


@dataclass
class RecordedInvoke:
    token: str
    args: dict[str, Any]


@dataclass
class Recording:
    resources: list[RecordedResource] = field(default_factory=list)
    invokes: list[RecordedInvoke] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"expected one resource named {name!r}, found {len(matches)}")
        return matches[0]

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)


def secret(value: Any) -> dict[str, Any]:
    """`value` wrapped as the engine marks a secret output."""
    return {_SECRET_SIG: _SECRET_VALUE, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SECRET_SIG) == _SECRET_VALUE


def reveal(value: Any, placeholder: str | None = None) -> Any:
    """The value with secret wrappers removed (or replaced by `placeholder`)."""
    if is_secret(value):
        return placeholder if placeholder is not None else reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v, placeholder) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, placeholder) for v in value]
    return value


def walk_plain_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string not inside a secret wrapper, with its path."""
    if is_secret(value):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_plain_strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_plain_strings(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value
