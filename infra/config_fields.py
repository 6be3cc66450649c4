"""Typed access to raw config strings, with errors that name the offending key."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

NAMESPACE = "taskstream"

QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DNS_NAME = re.compile(r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
DURATION = re.compile(r"^[0-9]+[smhdwy]$")
HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
DAYS = ("any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ENVIRONMENTS = ("dev", "staging", "prod")

T = TypeVar("T")


class ConfigError(ValueError):
    """A stack config value is missing or wrong; the message names the key and what to set."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = f"{NAMESPACE}:{key}"
        super().__init__(f"{self.key}: {problem}")


class Reader:
    """Typed access to the raw strings, raising ConfigError that names the key."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self._raw = raw

    def has(self, key: str) -> bool:
        return self._raw.get(key) not in (None, "")

    def text(
        self,
        key: str,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        hint: str = "",
    ) -> str:
        value = self._raw.get(key)
        if value in (None, ""):
            if default is None:
                raise ConfigError(key, f"is required; set it with `pulumi config set {key} ...`")
            return default
        assert value is not None
        if pattern is not None and not pattern.match(value):
            raise ConfigError(key, f"{value!r} is not valid{': ' + hint if hint else ''}")
        return value

    def optional(self, key: str, pattern: re.Pattern[str], hint: str) -> str | None:
        return self.text(key, pattern=pattern, hint=hint) if self.has(key) else None

    def integer(self, key: str, default: int | None, low: int, high: int) -> int:
        text = self.text(key, None if default is None else str(default))
        return bounded_int(key, text, low, high)

    def boolean(self, key: str, default: bool) -> bool:
        text = self.text(key, "true" if default else "false").lower()
        if text not in ("true", "false"):
            raise ConfigError(key, f"{text!r} is not a boolean; use true or false")
        return text == "true"

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in options:
            raise ConfigError(key, f"{value!r} is not one of {', '.join(options)}")
        return value

    def json(self, key: str, expected: type[T], default: T) -> T:
        if not self.has(key):
            return default
        try:
            value = json.loads(self._raw[key])
        except json.JSONDecodeError as error:
            raise ConfigError(key, f"is not valid JSON/YAML structure ({error.msg})") from None
        if not isinstance(value, expected):
            raise ConfigError(key, f"must be a {expected.__name__}, got {type(value).__name__}")
        return value


def bounded_int(key: str, value: object, low: int, high: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(key, f"{value!r} is not an integer") from None
    if not low <= number <= high:
        raise ConfigError(key, f"{number} is out of range; use {low}..{high}")
    return number


def field(
    key: str,
    obj: Mapping[str, Any],
    name: str,
    check: Callable[[str, Any], T],
    default: T | None = None,
) -> T:
    """One field of an object-valued key, reported as `key.field`."""
    path = f"{key}.{name}"
    if name not in obj:
        if default is None:
            raise ConfigError(path, "is required")
        return default
    return check(path, obj[name])


def quantity(key: str, value: Any) -> str:
    text = str(value)
    if not QUANTITY.match(text):
        raise ConfigError(key, f"{text!r} is not a Kubernetes quantity such as 500m, 2Gi or 1")
    return text


def slug(key: str, value: Any) -> str:
    text = str(value)
    if not SLUG.match(text):
        raise ConfigError(key, f"{text!r} is not a lowercase slug such as s-2vcpu-4gb")
    return text


def reject_unknown(key: str, obj: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for name in obj:
        if name not in allowed:
            raise ConfigError(f"{key}.{name}", f"is not a known field; use {', '.join(allowed)}")
