"""Input that looks valid but is out of range answers a 422 naming the field, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ApiUser

TASKS = "/api/v1/tasks"

# (what is sent, the JSON body, the location the problem document must name)
TASK_BODIES = [
    ("weeks past any timedelta", {"reminders": ["P99999999999W"]}, ["body", "reminders", 0]),
    (
        "seconds past any timedelta",
        {"reminders": ["PT99999999999999999999S"]},
        ["body", "reminders", 0],
    ),
    ("an exponent", {"reminders": ["PT1e20S"]}, ["body", "reminders", 0]),
    ("Arabic-Indic digits", {"reminders": ["P\u0663D"]}, ["body", "reminders", 0]),
    ("a decimal fraction", {"reminders": ["PT1.5H"]}, ["body", "reminders", 0]),
    (
        "a due time past year 9999 in UTC",
        {"due_at": "9999-12-31T23:59:59-14:00"},
        ["body", "due_at"],
    ),
    ("a due time before year 1 in UTC", {"due_at": "0001-01-01T00:00+14:00"}, ["body", "due_at"]),
    ("a due time in year 1", {"due_at": "0001-01-01T00:00:00Z"}, ["body", "due_at"]),
    ("a due time before 1970", {"due_at": "1969-12-31T23:59:59Z"}, ["body", "due_at"]),
    ("a due time in year 9000", {"due_at": "9000-01-01T00:00:00Z"}, ["body", "due_at"]),
    (
        "a reminder before a due time in year 1",
        {"due_at": "0001-01-01T00:00:00Z", "reminders": ["P1D"]},
        ["body", "due_at"],
    ),
]
LIST_QUERIES = [
    ({"due_before": "9999-12-31T23:59:59-14:00"}, ["query", "due_before"]),
    ({"due_after": "0001-01-01T00:00:00+14:00"}, ["query", "due_after"]),
]


def _post_task(client: TestClient, user: ApiUser, fields: dict[str, object]) -> dict[str, object]:
    response = client.post(TASKS, headers=user.headers, json={"title": "probe", **fields})
    assert response.status_code == 422, f"{fields!r} gave {response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(("case", "fields", "loc"), TASK_BODIES, ids=[c[0] for c in TASK_BODIES])
def test_an_out_of_range_task_field_is_a_422_naming_the_field(
    client: TestClient, alice: ApiUser, case: str, fields: dict[str, object], loc: list[object]
) -> None:
    problem = _post_task(client, alice, fields)
    named = [error["loc"] for error in problem.get("errors", [])]
    assert loc in named, f"{case}: the problem names {named}, not {loc}"


def test_a_due_time_out_of_range_cannot_be_patched_in_either(
    client: TestClient, alice: ApiUser
) -> None:
    task = client.post(TASKS, headers=alice.headers, json={"title": "probe"}).json()
    response = client.patch(
        f"{TASKS}/{task['id']}", headers=alice.headers, json={"due_at": "0001-01-01T00:00+14:00"}
    )
    assert response.status_code == 422, f"gave {response.status_code}: {response.text}"
    assert ["body", "due_at"] in [e["loc"] for e in response.json()["errors"]]


def test_the_due_range_edges_are_accepted(client: TestClient, alice: ApiUser) -> None:
    for due in ("1970-01-01T00:00:00Z", "8999-12-31T23:59:59Z"):
        response = client.post(TASKS, headers=alice.headers, json={"title": "edge", "due_at": due})
        assert response.status_code == 201, f"{due} gave {response.status_code}: {response.text}"


@pytest.mark.parametrize(("params", "loc"), LIST_QUERIES)
def test_a_list_filter_that_cannot_be_converted_to_utc_is_a_422(
    client: TestClient, alice: ApiUser, params: dict[str, str], loc: list[object]
) -> None:
    response = client.get(TASKS, headers=alice.headers, params=params)
    assert response.status_code == 422, f"{params} gave {response.status_code}: {response.text}"
    assert loc in [e["loc"] for e in response.json()["errors"]]
