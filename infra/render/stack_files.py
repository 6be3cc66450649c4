"""A stack file read without the Pulumi CLI: Pulumi.<stack>.yaml into a StackConfig."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from infra.config import parse_stack_config
from infra.config_fields import NAMESPACE
from infra.config_model import StackConfig


def raw_stack_config(path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The `taskstream:` values of a Pulumi.<stack>.yaml as the strings pulumi.Config returns.

    Encrypted (`secure:`) values cannot be read offline; pass stand-ins through `extra`.
    """
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        namespace, _, name = str(key).partition(":")
        if namespace != NAMESPACE or (isinstance(value, dict) and "secure" in value):
            continue
        if isinstance(value, bool):
            raw[name] = "true" if value else "false"
        elif isinstance(value, dict | list):
            raw[name] = json.dumps(value)
        else:
            raw[name] = str(value)
    raw.update(extra or {})
    return raw


def load_stack(stack: str, root: Path, extra: dict[str, str] | None = None) -> StackConfig:
    """Parse `root/Pulumi.<stack>.yaml` into a StackConfig without the Pulumi CLI."""
    raw = raw_stack_config(root / f"Pulumi.{stack}.yaml", extra)
    return parse_stack_config(stack, raw)
