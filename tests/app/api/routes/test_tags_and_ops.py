"""Tags, health, readiness, metrics and request limits."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import ApiUser


def test_tags_are_listed_with_counts_created_and_deleted(
    client: TestClient, alice: ApiUser
) -> None:
    client.post(
        "/api/v1/tasks", headers=alice.headers, json={"title": "a", "tags": ["home", "work"]}
    )
    client.post("/api/v1/tasks", headers=alice.headers, json={"title": "b", "tags": ["home"]})
    assert client.post("/api/v1/tags", headers=alice.headers, json={"name": "Empty"}).json() == {
        "name": "empty",
        "task_count": 0,
    }
    tags = client.get("/api/v1/tags", headers=alice.headers).json()
    assert tags == [
        {"name": "empty", "task_count": 0},
        {"name": "home", "task_count": 2},
        {"name": "work", "task_count": 1},
    ]
    assert client.delete("/api/v1/tags/home", headers=alice.headers).status_code == 204
    assert client.delete("/api/v1/tags/home", headers=alice.headers).status_code == 404
    tasks = client.get(
        "/api/v1/tasks", headers=alice.headers, params={"sort": "title", "order": "asc"}
    ).json()["items"]
    assert [t["tags"] for t in tasks] == [["work"], []]


def test_a_tag_name_with_a_slash_is_refused_since_no_path_could_address_it(
    client: TestClient, alice: ApiUser
) -> None:
    for body, path in (
        ({"name": "a/b"}, "/api/v1/tags"),
        ({"title": "t", "tags": ["a/b"]}, "/api/v1/tasks"),
    ):
        response = client.post(path, headers=alice.headers, json=body)
        assert response.status_code == 422, f"{path} took a slash: {response.text}"
    spec = client.get("/openapi.json").json()["paths"]["/api/v1/tags/{name}"]["delete"]
    [name] = [p for p in spec["parameters"] if p["name"] == "name"]
    pattern = name["schema"].get("pattern", "")
    assert pattern, "the tag path parameter documents no pattern"
    assert not re.search(pattern, "a/b"), "the path parameter must exclude '/'"


def test_health_readiness_and_metrics(client: TestClient, alice: ApiUser) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}
    metrics = client.get("/metrics").text
    assert (
        'taskstream_http_requests_total{method="POST",route="/api/v1/auth/register",status="201"}'
        in metrics
    )


def test_oversized_bodies_are_refused_before_parsing(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/api/v1/tasks", headers=alice.headers, content=b"x" * 2_000_000)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_routes_and_methods_are_problem_documents(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = client.put("/healthz")
    assert wrong.status_code == 405
    assert wrong.json()["status"] == 405


def test_deleting_a_tag_is_a_new_version_and_an_event_of_every_task_that_carried_it(
    client: TestClient, alice: ApiUser
) -> None:
    def create(title: str, tags: list[str]) -> str:
        body = {"title": title, "tags": tags}
        return str(client.post("/api/v1/tasks", headers=alice.headers, json=body).json()["id"])

    both, home, work = create("a", ["home", "work"]), create("b", ["home"]), create("c", ["work"])
    assert client.delete("/api/v1/tags/home", headers=alice.headers).status_code == 204
    for task_id, version, tags in ((both, 2, ["work"]), (home, 2, []), (work, 1, ["work"])):
        task = client.get(f"/api/v1/tasks/{task_id}", headers=alice.headers)
        assert (task.json()["version"], task.json()["tags"]) == (version, tags), task.text
        assert task.headers["ETag"].endswith(f'.{version}"'), "the ETag follows the version"
        events = client.get(f"/api/v1/tasks/{task_id}/history", headers=alice.headers).json()
        last = events["events"][-1]
        if version == 1:
            assert last["event_type"] == "task.created", "an untouched task gets no event"
            continue
        assert (last["event_type"], last["changes"]) == ("task.updated", ["tags"])
        assert (last["task"]["tags"], last["task"]["version"]) == (tags, version)
