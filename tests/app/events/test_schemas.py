"""Event schemas in the repository are current, and never change incompatibly in place."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.events.schemas import SCHEMA_DIR, current_schemas

IGNORED_KEYS = {"title", "description", "examples"}


def _strip(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip(v) for k, v in schema.items() if k not in IGNORED_KEYS}
    if isinstance(schema, list):
        return [_strip(v) for v in schema]
    return schema


def incompatibilities(old: dict[str, Any], new: dict[str, Any], where: str = "") -> list[str]:
    """Why events valid under `new` could break a consumer written against `old` (or back)."""
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{where}{name} was removed")
        elif _strip(old_prop) != _strip(new_props[name]):
            problems.append(f"{where}{name} changed type or constraints")
    added_required = set(new.get("required", [])) - set(old.get("required", []))
    problems += [f"{where}{name} became required" for name in sorted(added_required)]
    for name, old_def in old.get("$defs", {}).items():
        new_def = new.get("$defs", {}).get(name)
        if new_def is None:
            problems.append(f"definition {name} was removed")
        else:
            problems += incompatibilities(old_def, new_def, f"{name}.")
    return problems


def test_committed_schemas_are_compatible_with_the_models_of_the_same_version() -> None:
    for path, schema in current_schemas().items():
        if not path.exists():
            continue  # a new version: nothing committed to break yet
        committed = json.loads(path.read_text())
        problems = incompatibilities(committed, schema)
        assert not problems, (
            f"{path.name} changed incompatibly without a schema_version bump: {problems}; "
            "bump schema_version in app/events/models.py and regenerate"
        )


def test_committed_schemas_match_the_models() -> None:
    for path, schema in current_schemas().items():
        assert path.exists(), f"{path.name} is missing: run python -m app.events.schemas"
        assert json.loads(path.read_text()) == schema, (
            f"{path.name} is stale: run python -m app.events.schemas and commit it"
        )
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(
        p.name for p in current_schemas()
    ), "old schema versions must be removed only deliberately"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s["properties"].pop("task_id"), "task_id was removed"),
        (lambda s: s["properties"].__setitem__("task_id", {"type": "integer"}), "task_id changed"),
        (lambda s: s["required"].append("brand_new"), "brand_new became required"),
        (lambda s: s["$defs"]["TaskSnapshot"]["properties"].pop("title"), "TaskSnapshot.title"),
    ],
)
def test_the_compatibility_check_catches_breaking_changes(change: Any, expected: str) -> None:
    [schema] = [s for p, s in current_schemas().items() if p.name.startswith("task-event")]
    changed = json.loads(json.dumps(schema))
    change(changed)
    assert any(expected in problem for problem in incompatibilities(schema, changed))


def test_adding_an_optional_field_is_compatible() -> None:
    [schema] = [s for p, s in current_schemas().items() if p.name.startswith("task-event")]
    changed = json.loads(json.dumps(schema))
    changed["properties"]["note"] = {"type": "string"}
    assert incompatibilities(schema, changed) == []
