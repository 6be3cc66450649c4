"""Every route that names a resource answers 404 to anyone but its owner."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models.notification import Notification
from tests.conftest import ApiUser

BODIES: dict[str, Any] = {"PATCH": {}, "PUT": {}}


def test_every_owned_resource_route_is_a_404_for_another_user(
    client: TestClient, alice: ApiUser, bob: ApiUser, engine: Engine
) -> None:
    task = client.post(
        "/api/v1/tasks", headers=alice.headers, json={"title": "secret", "tags": ["private"]}
    ).json()
    series = client.post(
        "/api/v1/recurring-tasks",
        headers=alice.headers,
        json={"title": "s", "rrule": "FREQ=DAILY", "start": "2030-01-01T09:00:00"},
    ).json()
    with Session(engine) as session:
        note = Notification(owner_id=uuid.UUID(alice.id), kind="reminder", title="n")
        session.add(note)
        session.commit()
        note_id = str(note.id)
    ids = {"task_id": task["id"], "series_id": series["id"], "notification_id": note_id}
    exercised = []
    paths: dict[str, dict[str, Any]] = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    for template, operations in paths.items():
        if "{" not in template or "{name}" in template:
            continue
        path = template.format(**ids)
        for method in (m.upper() for m in operations):
            response = client.request(method, path, headers=bob.headers, json=BODIES.get(method))
            assert response.status_code == 404, (
                f"{method} {path} gave {response.status_code} to another user"
            )
            assert "secret" not in response.text
            if method == "GET":
                owner = client.get(path, headers=alice.headers)
                assert owner.status_code == 200, f"the owner cannot GET {path}"
            exercised.append(f"{method} {template}")
    assert len(exercised) >= 11, f"owned routes went missing: {exercised}"
    assert client.get("/api/v1/tasks", headers=bob.headers).json()["total"] == 0
    assert client.get("/api/v1/recurring-tasks", headers=bob.headers).json()["total"] == 0
    assert client.get("/api/v1/notifications", headers=bob.headers).json()["total"] == 0
    assert client.delete("/api/v1/tags/private", headers=bob.headers).status_code == 404
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=alice.headers).json()["tags"] == [
        "private"
    ]
