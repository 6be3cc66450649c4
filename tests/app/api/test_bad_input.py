"""Malformed input anywhere gets a 4xx problem document, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiUser

NOT_JSON = b"{not json"
CASES = [
    ("POST", "/api/v1/tasks", {"title": ""}),
    ("POST", "/api/v1/tasks", {"title": "x" * 201}),
    ("POST", "/api/v1/tasks", {"title": "x", "status": "later"}),
    ("POST", "/api/v1/tasks", {"title": "x", "priority": 7}),
    ("POST", "/api/v1/tasks", {"title": "x", "reminders": ["1 hour"]}),
    ("POST", "/api/v1/tasks", {"title": "x", "reminders": ["P2Y"]}),
    ("POST", "/api/v1/tasks", {"title": "x", "tags": ["ok"] * 21 + ["y"]}),
    ("POST", "/api/v1/tasks", {"title": "x", "due_at": "tomorrow"}),
    ("POST", "/api/v1/tasks", [1, 2, 3]),
    ("POST", "/api/v1/tasks", NOT_JSON),
    ("PATCH", "/api/v1/tasks/not-a-uuid", {"title": "x"}),
    ("GET", "/api/v1/tasks?sort=colour", None),
    ("GET", "/api/v1/tasks?due_before=yesterday", None),
    ("GET", "/api/v1/tasks?due_before=2026-01-01T00:00:00", None),
    ("GET", "/api/v1/tasks?page=0", None),
    ("GET", "/api/v1/tasks?status=maybe", None),
    (
        "POST",
        "/api/v1/recurring-tasks",
        {"title": "x", "rrule": "FREQ=DAILY;BYHOUR=99", "start": "2030-01-01T09:00:00"},
    ),
    ("POST", "/api/v1/recurring-tasks", {"title": "x", "rrule": "FREQ=DAILY", "start": "soon"}),
    (
        "POST",
        "/api/v1/recurring-tasks",
        {
            "title": "x",
            "preset": {"frequency": "daily", "interval": 0},
            "start": "2030-01-01T09:00:00",
        },
    ),
    ("GET", "/api/v1/notifications?page_size=1000", None),
    ("POST", "/api/v1/tags", {"name": " "}),
    ("POST", "/api/v1/auth/token", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CASES)
def test_malformed_requests_get_a_problem_document(
    client: TestClient, alice: ApiUser, method: str, path: str, body: object
) -> None:
    kwargs: dict[str, object] = {"headers": {**alice.headers, "Content-Type": "application/json"}}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert 400 <= response.status_code < 500, (
        f"{method} {path} {body!r} gave {response.status_code}"
    )
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == response.status_code
