"""JSON Schemas of the event payloads, generated into app/events/schemas/ for consumers.

Regenerate with `python -m app.events.schemas` after changing a payload model; a contract
test refuses an incompatible change that keeps the same schema_version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from app.events.models import ReminderDue, TaskEvent

SCHEMA_DIR = Path(__file__).parent / "schemas"
PAYLOADS: dict[str, type[BaseModel]] = {"task-event": TaskEvent, "reminder-due": ReminderDue}


def schema_version(model: type[BaseModel]) -> int:
    default = model.model_fields["schema_version"].default
    assert isinstance(default, int)
    return default


def schema_path(name: str, version: int) -> Path:
    return SCHEMA_DIR / f"{name}.v{version}.json"


def current_schemas() -> dict[Path, dict[str, Any]]:
    return {
        schema_path(name, schema_version(model)): model.model_json_schema(mode="serialization")
        for name, model in PAYLOADS.items()
    }


def write_schemas() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for path, schema in current_schemas().items():
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_schemas():
        print(written_path)
