"""Task list cursors: only a cursor the server issued, unchanged, is accepted."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiUser

TASKS = "/api/v1/tasks"


def _first_cursor(client: TestClient, user: ApiUser, sort: str) -> str:
    for i in range(3):
        due = f"2030-01-0{i + 1}T00:00:00Z"
        created = client.post(TASKS, headers=user.headers, json={"title": f"t{i}", "due_at": due})
        assert created.status_code == 201, created.text
    page = client.get(TASKS, headers=user.headers, params={"sort": sort, "page_size": 1})
    cursor = page.json()["next_cursor"]
    assert cursor, "a first page of one task out of three has a next cursor"
    return str(cursor)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _with_key(cursor: str, key: object) -> str:
    """The cursor with its sort key replaced, keeping whatever signature it carried."""
    body, dot, tag = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["k"] = key
    return _b64(json.dumps(payload).encode()) + dot + tag


FORGED_KEYS: list[tuple[str, Any]] = [
    ("due_at", "2030-01-01T00:00:00"),  # naive
    ("due_at", "2030-01-02T00:00:00+00:00"),  # well-formed, just not what was issued
    ("priority", [1, 2]),
    ("priority", 10**30),
    ("priority", True),
    ("priority", "x"),
    ("title", {"a": 1}),
    ("title", [1]),
]


@pytest.mark.parametrize(("sort", "key"), FORGED_KEYS)
def test_a_cursor_with_a_forged_key_is_refused(
    client: TestClient, alice: ApiUser, sort: str, key: Any
) -> None:
    forged = _with_key(_first_cursor(client, alice, sort), key)
    response = client.get(
        TASKS, headers=alice.headers, params={"sort": sort, "page_size": 1, "cursor": forged}
    )
    assert response.status_code == 422, f"{key!r} gave {response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_cursor_is_only_good_for_the_user_it_was_issued_to(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    cursor = _first_cursor(client, alice, "due_at")
    _first_cursor(client, bob, "due_at")
    params = {"sort": "due_at", "page_size": 1, "cursor": cursor}
    assert client.get(TASKS, headers=alice.headers, params=params).status_code == 200
    response = client.get(TASKS, headers=bob.headers, params=params)
    assert response.status_code == 422, f"bob used alice's cursor: {response.status_code}"


@pytest.mark.parametrize(
    "cursor", ["x" * 5000, _b64(b"[1, 2]"), _b64(b"null"), "..", _b64(b"{}") + "." + _b64(b"x")]
)
def test_a_malformed_or_oversized_cursor_is_refused(
    client: TestClient, alice: ApiUser, cursor: str
) -> None:
    _first_cursor(client, alice, "due_at")
    response = client.get(TASKS, headers=alice.headers, params={"cursor": cursor})
    assert response.status_code == 422, f"{cursor[:40]!r} gave {response.status_code}"


def test_title_cursors_fit_the_longest_titles_in_any_script(
    client: TestClient, alice: ApiUser
) -> None:
    for symbol in ("\U0001f600", "\u4e2d", "\u00e9"):
        created = client.post(TASKS, headers=alice.headers, json={"title": symbol * 200})
        assert created.status_code == 201, created.text
    seen: list[str] = []
    params: dict[str, Any] = {"sort": "title", "order": "asc", "page_size": 1}
    for _ in range(4):  # three tasks, one per page
        response = client.get(TASKS, headers=alice.headers, params=params)
        assert response.status_code == 200, (
            f"a cursor the server issued was refused: {response.text}"
        )
        page = response.json()
        seen += [item["title"][0] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == sorted(["\U0001f600", "\u4e2d", "\u00e9"]), f"pages held {seen}"
