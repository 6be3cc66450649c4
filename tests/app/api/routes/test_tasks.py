"""The task routes: CRUD, completion, ETags, idempotency, events staged."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models.events import OutboxEvent
from app.models.task import Task
from tests.conftest import ApiUser

TASKS = "/api/v1/tasks"


def test_a_created_task_comes_back_with_utc_due_time_tags_reminders_and_etag(
    client: TestClient, alice: ApiUser
) -> None:
    response = client.post(
        TASKS,
        headers=alice.headers,
        json={
            "title": "  File taxes ",
            "priority": "high",
            "tags": ["Money", "money", "home"],
            "due_at": "2026-04-15T09:00:00-04:00",
            "reminders": ["PT1H", "P1D", "PT60M"],
        },
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "File taxes"
    assert task["due_at"] == "2026-04-15T13:00:00Z"
    assert task["tags"] == ["home", "money"]
    assert task["reminders"] == ["P1D", "PT1H"], "duplicates merge, earliest reminder first"
    assert task["status"] == "todo"
    assert task["version"] == 1
    assert response.headers["ETag"]
    assert response.headers["Location"].endswith(task["id"])
    fetched = client.get(f"{TASKS}/{task['id']}", headers=alice.headers)
    assert fetched.json() == task
    assert fetched.headers["ETag"] == response.headers["ETag"]


def test_a_naive_due_time_is_refused_because_it_is_ambiguous(
    client: TestClient, alice: ApiUser
) -> None:
    response = client.post(
        TASKS, headers=alice.headers, json={"title": "x", "due_at": "2026-04-15T09:00:00"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["body", "due_at"]


def test_patch_changes_only_given_fields_and_bumps_the_version(
    client: TestClient, alice: ApiUser
) -> None:
    task = client.post(
        TASKS, headers=alice.headers, json={"title": "a", "description": "keep"}
    ).json()
    updated = client.patch(f"{TASKS}/{task['id']}", headers=alice.headers, json={"title": "b"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["title"] == "b"
    assert updated.json()["description"] == "keep"
    assert updated.json()["version"] == 2


def test_a_stale_if_match_is_refused_with_412_and_changes_nothing(
    client: TestClient, alice: ApiUser
) -> None:
    created = client.post(TASKS, headers=alice.headers, json={"title": "a"})
    stale = created.headers["ETag"]
    task_id = created.json()["id"]
    fresh = client.patch(
        f"{TASKS}/{task_id}", headers={**alice.headers, "If-Match": stale}, json={"title": "b"}
    )
    assert fresh.status_code == 200
    refused = client.patch(
        f"{TASKS}/{task_id}", headers={**alice.headers, "If-Match": stale}, json={"title": "c"}
    )
    assert refused.status_code == 412
    assert refused.json()["status"] == 412
    assert client.get(f"{TASKS}/{task_id}", headers=alice.headers).json()["title"] == "b"
    for method, path in (("post", "complete"), ("post", "reopen")):
        assert (
            getattr(client, method)(
                f"{TASKS}/{task_id}/{path}", headers={**alice.headers, "If-Match": stale}
            ).status_code
            == 412
        )
    assert (
        client.delete(
            f"{TASKS}/{task_id}", headers={**alice.headers, "If-Match": stale}
        ).status_code
        == 412
    )


def test_complete_and_reopen_set_and_clear_completed_at(client: TestClient, alice: ApiUser) -> None:
    task = client.post(TASKS, headers=alice.headers, json={"title": "a"}).json()
    done = client.post(f"{TASKS}/{task['id']}/complete", headers=alice.headers)
    assert done.status_code == 200
    assert done.json()["status"] == "done"
    assert done.json()["completed_at"] is not None
    again = client.post(f"{TASKS}/{task['id']}/complete", headers=alice.headers)
    assert again.json()["version"] == done.json()["version"], "completing twice is a no-op"
    reopened = client.post(f"{TASKS}/{task['id']}/reopen", headers=alice.headers)
    assert reopened.json()["status"] == "todo"
    assert reopened.json()["completed_at"] is None


def test_an_idempotent_create_replayed_returns_the_first_task_and_stores_one_row(
    client: TestClient, alice: ApiUser, engine: Engine
) -> None:
    headers = {**alice.headers, "Idempotency-Key": "create-1"}
    first = client.post(TASKS, headers=headers, json={"title": "once"})
    second = client.post(TASKS, headers=headers, json={"title": "once"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    with Session(engine) as session:
        assert len(session.exec(select(Task)).all()) == 1
        assert len(session.exec(select(OutboxEvent)).all()) == 1, "one task.created event"


def test_an_idempotency_key_reused_with_another_body_is_refused(
    client: TestClient, alice: ApiUser
) -> None:
    headers = {**alice.headers, "Idempotency-Key": "k"}
    assert client.post(TASKS, headers=headers, json={"title": "one"}).status_code == 201
    clash = client.post(TASKS, headers=headers, json={"title": "two"})
    assert clash.status_code == 422
    assert "different request" in clash.json()["detail"]


def test_idempotency_keys_are_per_user(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    a = client.post(
        TASKS, headers={**alice.headers, "Idempotency-Key": "same"}, json={"title": "x"}
    )
    b = client.post(TASKS, headers={**bob.headers, "Idempotency-Key": "same"}, json={"title": "x"})
    assert a.json()["id"] != b.json()["id"]


def test_every_mutation_stages_its_event_in_the_outbox(
    client: TestClient, alice: ApiUser, engine: Engine
) -> None:
    task = client.post(TASKS, headers=alice.headers, json={"title": "a"}).json()
    client.patch(f"{TASKS}/{task['id']}", headers=alice.headers, json={"priority": "urgent"})
    client.post(f"{TASKS}/{task['id']}/complete", headers=alice.headers)
    client.post(f"{TASKS}/{task['id']}/reopen", headers=alice.headers)
    client.delete(f"{TASKS}/{task['id']}", headers=alice.headers)
    with Session(engine) as session:
        types = [e.event_type for e in session.exec(select(OutboxEvent).order_by(OutboxEvent.id))]  # type: ignore[arg-type]
    assert types == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]
    history = client.get(f"{TASKS}/{task['id']}/history", headers=alice.headers)
    assert history.status_code == 200
    assert [e["event_type"] for e in history.json()["events"]] == types
    assert history.json()["events"][1]["changes"] == ["priority"]


def test_a_patch_that_changes_nothing_emits_nothing(
    client: TestClient, alice: ApiUser, engine: Engine
) -> None:
    task = client.post(TASKS, headers=alice.headers, json={"title": "a", "tags": ["x"]}).json()
    same = client.patch(
        f"{TASKS}/{task['id']}", headers=alice.headers, json={"title": "a", "tags": ["X"]}
    )
    assert same.json()["version"] == 1
    with Session(engine) as session:
        assert len(session.exec(select(OutboxEvent)).all()) == 1


def test_deleting_a_task_removes_it(client: TestClient, alice: ApiUser) -> None:
    task = client.post(TASKS, headers=alice.headers, json={"title": "a"}).json()
    assert client.delete(f"{TASKS}/{task['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"{TASKS}/{task['id']}", headers=alice.headers).status_code == 404
