"""Listing tasks: full-text search, filters, sorting and both kinds of pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiUser

TASKS = "/api/v1/tasks"


def _create(client: TestClient, user: ApiUser, **fields: Any) -> dict[str, Any]:
    response = client.post(TASKS, headers=user.headers, json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def _titles(client: TestClient, user: ApiUser, **params: Any) -> list[str]:
    response = client.get(TASKS, headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
def sample(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    now = datetime.now(UTC)
    _create(
        client,
        alice,
        title="Buy milk",
        description="semi-skimmed",
        priority="low",
        tags=["home", "shopping"],
        due_at=(now - timedelta(days=1)).isoformat(),
    )
    _create(
        client,
        alice,
        title="Write report",
        description="quarterly numbers",
        priority="urgent",
        tags=["work"],
        due_at=(now + timedelta(days=2)).isoformat(),
    )
    _create(
        client,
        alice,
        title="Call plumber",
        description="kitchen tap",
        priority="high",
        tags=["home"],
        due_at=(now + timedelta(days=1)).isoformat(),
    )
    _create(client, alice, title="Read book", priority="medium")
    done = _create(
        client,
        alice,
        title="Old chore",
        tags=["home"],
        due_at=(now - timedelta(days=3)).isoformat(),
    )
    client.post(f"{TASKS}/{done['id']}/complete", headers=alice.headers)
    _create(client, bob, title="Buy milk for bob", tags=["home"])


@pytest.mark.usefixtures("sample")
def test_full_text_search_matches_words_and_prefixes_in_title_and_description(
    client: TestClient, alice: ApiUser
) -> None:
    assert _titles(client, alice, q="milk") == ["Buy milk"], "bob's task never shows"
    assert _titles(client, alice, q="quarter") == ["Write report"], "prefix match"
    assert _titles(client, alice, q="KITCHEN plumb") == ["Call plumber"], "all words, any case"
    assert _titles(client, alice, q="milk report") == []
    assert _titles(client, alice, q='" OR * NEAR(') == [], "operators are treated as text"


@pytest.mark.usefixtures("sample")
def test_search_follows_title_changes(client: TestClient, alice: ApiUser) -> None:
    task = client.get(TASKS, headers=alice.headers, params={"q": "book"}).json()["items"][0]
    client.patch(f"{TASKS}/{task['id']}", headers=alice.headers, json={"title": "Read novel"})
    assert _titles(client, alice, q="book") == []
    assert _titles(client, alice, q="novel") == ["Read novel"]


@pytest.mark.usefixtures("sample")
def test_filters_by_status_priority_tags_and_due_window(client: TestClient, alice: ApiUser) -> None:
    assert sorted(_titles(client, alice, status="done")) == ["Old chore"]
    assert sorted(_titles(client, alice, priority=["urgent", "high"])) == [
        "Call plumber",
        "Write report",
    ]
    assert sorted(_titles(client, alice, tags=["home", "work"])) == [
        "Buy milk",
        "Call plumber",
        "Old chore",
        "Write report",
    ]
    assert _titles(client, alice, tags=["home", "shopping"], tags_mode="all") == ["Buy milk"]
    now = datetime.now(UTC)
    assert sorted(_titles(client, alice, due_after=now.isoformat())) == [
        "Call plumber",
        "Write report",
    ]
    assert sorted(_titles(client, alice, due_before=now.isoformat())) == ["Buy milk", "Old chore"]
    assert _titles(client, alice, overdue=True) == ["Buy milk"], "done tasks are never overdue"
    assert "Buy milk" not in _titles(client, alice, overdue=False)


@pytest.mark.usefixtures("sample")
def test_sorting_by_each_field_in_both_directions(client: TestClient, alice: ApiUser) -> None:
    by_due = _titles(client, alice, sort="due_at", order="asc")
    assert by_due == ["Old chore", "Buy milk", "Call plumber", "Write report", "Read book"], (
        "no due date last"
    )
    assert _titles(client, alice, sort="due_at", order="desc")[-1] == "Read book"
    assert _titles(client, alice, sort="priority", order="desc")[:2] == [
        "Write report",
        "Call plumber",
    ]
    assert _titles(client, alice, sort="title", order="asc") == sorted(_titles(client, alice))
    newest_first = _titles(client, alice, sort="created_at", order="desc")
    assert newest_first == list(reversed(_titles(client, alice, sort="created_at", order="asc")))


@pytest.mark.parametrize("sort", ["due_at", "priority", "created_at", "updated_at", "title"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_cursor_pages_cover_every_task_exactly_once_in_order(
    client: TestClient, alice: ApiUser, sort: str, order: str
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(23):
        due = None if i % 5 == 0 else (base + timedelta(hours=i % 4)).isoformat()
        _create(client, alice, title=f"task {i % 7}", priority=["low", "high"][i % 2], due_at=due)
    everything = client.get(
        TASKS, headers=alice.headers, params={"sort": sort, "order": order, "page_size": 100}
    ).json()
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "order": order, "page_size": 4}
        if cursor:
            params["cursor"] = cursor
        page = client.get(TASKS, headers=alice.headers, params=params).json()
        assert page["total"] == 23
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [item["id"] for item in everything["items"]], "cursor order equals one big page"
    assert len(set(seen)) == 23


def test_page_numbers_and_totals(client: TestClient, alice: ApiUser) -> None:
    for i in range(5):
        _create(client, alice, title=f"t{i}")
    page = client.get(
        TASKS,
        headers=alice.headers,
        params={"page": 2, "page_size": 2, "sort": "title", "order": "asc"},
    ).json()
    assert [i["title"] for i in page["items"]] == ["t2", "t3"]
    assert (page["total"], page["page"], page["page_size"]) == (5, 2, 2)


def test_a_cursor_is_tied_to_its_query(client: TestClient, alice: ApiUser) -> None:
    for i in range(3):
        _create(client, alice, title=f"t{i}")
    cursor = client.get(TASKS, headers=alice.headers, params={"page_size": 1}).json()["next_cursor"]
    other = client.get(
        TASKS, headers=alice.headers, params={"page_size": 1, "sort": "title", "cursor": cursor}
    )
    assert other.status_code == 422
    garbage = client.get(TASKS, headers=alice.headers, params={"cursor": "!!not-a-cursor"})
    assert garbage.status_code == 422


def test_page_size_is_capped(client: TestClient, alice: ApiUser) -> None:
    assert client.get(TASKS, headers=alice.headers, params={"page_size": 101}).status_code == 422
