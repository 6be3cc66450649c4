"""Recorded inputs made fit to print: secrets masked, numbers as Kubernetes spells them."""

from __future__ import annotations

from typing import Any

from infra.render.recording import is_secret

REDACTED = "[secret]"


def redact(value: Any) -> Any:
    """A plain copy of `value` with every secret's leaves replaced by REDACTED.

    A secret map keeps its keys (a reviewer sees which settings a Secret carries, as
    `kubectl describe` would) and a secret list its length; only the values are masked.
    """
    if is_secret(value):
        return _mask(value["value"])
    if isinstance(value, dict):
        return {str(k): redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return _scalar(value)


def _mask(value: Any) -> Any:
    if is_secret(value):
        return _mask(value["value"])
    if isinstance(value, dict):
        return {str(k): _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return REDACTED


def _scalar(value: Any) -> Any:
    # The engine's wire format has only doubles: `replicas: 2.0` would read as a float
    # to a reviewer and to a schema, so whole numbers go back to integers.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    # Assets and archives: their location is what a reviewer needs, and YAML can hold it.
    for attribute in ("path", "uri"):
        location = getattr(value, attribute, None)
        if isinstance(location, str):
            return f"{type(value).__name__}({location})"
    return str(value)
