"""Per-user quotas over HTTP: a 422 problem naming the limit, and other users unaffected."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.support.accounts import ApiUser

TASKS = "/api/v1/tasks"
SERIES = "/api/v1/recurring-tasks"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        quota_tasks_per_user=3,
        quota_series_per_user=1,
        quota_tags_per_user=2,
    )


def _refused_for(response: httpx.Response, limit: str) -> str | None:
    """Why the response is not a 422 problem naming `limit` (None if it is)."""
    if response.status_code != 422:
        return f"status {response.status_code}: {response.text[:200]}"
    problem = response.json()
    if problem.get("limit") != limit or not problem.get("detail"):
        return f"problem does not name {limit}: {problem}"
    return None


def test_the_task_quota_refuses_one_task_too_many_and_spares_other_users(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    for n in range(3):
        made = client.post(TASKS, headers=alice.headers, json={"title": f"t{n}"})
        assert made.status_code == 201, made.text
    extra = client.post(TASKS, headers=alice.headers, json={"title": "one too many"})
    assert _refused_for(extra, "tasks_per_user") is None, _refused_for(extra, "tasks_per_user")
    assert extra.headers["content-type"] == "application/problem+json"
    assert client.get(TASKS, headers=alice.headers).json()["total"] == 3
    assert client.post(TASKS, headers=bob.headers, json={"title": "b"}).status_code == 201


def test_the_series_quota_refuses_a_second_series(client: TestClient, alice: ApiUser) -> None:
    body = {"title": "s", "rrule": "FREQ=DAILY", "start": f"{datetime.now().year + 1}-01-05T09:00"}
    assert client.post(SERIES, headers=alice.headers, json=body).status_code == 201
    second = client.post(SERIES, headers=alice.headers, json=body)
    assert _refused_for(second, "series_per_user") is None, _refused_for(second, "series_per_user")


def test_the_tag_quota_refuses_new_tags_beyond_it_but_not_reused_ones(
    client: TestClient, alice: ApiUser
) -> None:
    first = client.post(TASKS, headers=alice.headers, json={"title": "a", "tags": ["x", "y"]})
    assert first.status_code == 201, first.text
    reused = client.post(TASKS, headers=alice.headers, json={"title": "b", "tags": ["y"]})
    assert reused.status_code == 201, reused.text
    third = client.post(TASKS, headers=alice.headers, json={"title": "c", "tags": ["z"]})
    assert _refused_for(third, "tags_per_user") is None, _refused_for(third, "tags_per_user")


@pytest.mark.parametrize("way", ["PATCH /tasks/{id}", "POST /tags"])
def test_the_configured_tag_quota_holds_however_a_tag_is_made(
    client: TestClient, alice: ApiUser, way: str
) -> None:
    made = client.post(TASKS, headers=alice.headers, json={"title": "a", "tags": ["x", "y"]})
    assert made.status_code == 201, made.text

    if way == "POST /tags":
        third = client.post("/api/v1/tags", headers=alice.headers, json={"name": "z"})
    else:
        third = client.patch(
            f"{TASKS}/{made.json()['id']}", headers=alice.headers, json={"tags": ["x", "y", "z"]}
        )

    # The setting is 2 here; the built-in default (500) would let the third one through.
    assert _refused_for(third, "tags_per_user") is None, _refused_for(third, "tags_per_user")
    names = [t["name"] for t in client.get("/api/v1/tags", headers=alice.headers).json()]
    assert sorted(names) == ["x", "y"]
