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
NUL = "\x00"
TASK_BODIES += [
    ("a NUL in the title", {"title": f"a{NUL}b"}, ["body", "title"]),
    ("a NUL in the description", {"description": f"a{NUL}b"}, ["body", "description"]),
    ("a NUL in a tag", {"tags": [f"a{NUL}b"]}, ["body", "tags", 0]),
]
SERIES = "/api/v1/recurring-tasks"
SERIES_BODY = {"title": "probe", "rrule": "FREQ=DAILY", "start": "2030-01-01T09:00:00"}
# (what is sent, method, path, keyword arguments of the request, the location to name)
OTHER_REQUESTS: list[tuple[str, str, str, dict[str, object], list[object]]] = [
    ("a NUL in a new tag", "POST", "/api/v1/tags", {"json": {"name": NUL}}, ["body", "name"]),
    ("a NUL in a tag to delete", "DELETE", "/api/v1/tags/a%00", {}, ["path", "name"]),
    ("a NUL in a tag filter", "GET", TASKS, {"params": {"tags": NUL}}, ["query", "tags", 0]),
    (
        "a NUL in a series title",
        "POST",
        SERIES,
        {"json": {**SERIES_BODY, "title": NUL}},
        ["body", "title"],
    ),
    (
        "a NUL in a series tag",
        "POST",
        SERIES,
        {"json": {**SERIES_BODY, "tags": [NUL]}},
        ["body", "tags", 0],
    ),
    (
        "a NUL in the login username",
        "POST",
        "/api/v1/auth/token",
        {"data": {"username": f"alice{NUL}@example.com", "password": "long enough"}},
        ["body", "username"],
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


@pytest.mark.parametrize(
    ("case", "method", "path", "kwargs", "loc"), OTHER_REQUESTS, ids=[c[0] for c in OTHER_REQUESTS]
)
def test_text_no_database_can_store_is_a_422_naming_the_field(
    client: TestClient,
    alice: ApiUser,
    case: str,
    method: str,
    path: str,
    kwargs: dict[str, object],
    loc: list[object],
) -> None:
    response = client.request(method, path, headers=alice.headers, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 422, f"{case} gave {response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    named = [error["loc"] for error in response.json().get("errors", [])]
    assert loc in named, f"{case}: the problem names {named}, not {loc}"


@pytest.mark.parametrize("field", ["title", "description", "tags"])
def test_a_nul_cannot_be_patched_into_a_task_or_series_either(
    client: TestClient, alice: ApiUser, field: str
) -> None:
    value: object = [NUL] if field == "tags" else NUL
    task = client.post(TASKS, headers=alice.headers, json={"title": "probe"}).json()
    series = client.post(SERIES, headers=alice.headers, json=SERIES_BODY).json()
    for path in (f"{TASKS}/{task['id']}", f"{SERIES}/{series['id']}"):
        response = client.patch(path, headers=alice.headers, json={field: value})
        assert response.status_code == 422, f"{path} gave {response.status_code}: {response.text}"
        expected = ["body", field, 0] if field == "tags" else ["body", field]
        assert expected in [e["loc"] for e in response.json()["errors"]]


@pytest.mark.parametrize("field", ["tags", "reminders", "title", "status", "priority"])
def test_patching_a_non_nullable_task_field_to_null_is_a_422(
    client: TestClient, alice: ApiUser, field: str
) -> None:
    task = client.post(TASKS, headers=alice.headers, json={"title": "probe", "tags": ["a"]}).json()
    body = {"due_at": "2030-01-01T00:00:00Z", field: None}
    response = client.patch(f"{TASKS}/{task['id']}", headers=alice.headers, json=body)
    assert response.status_code == 422, f"{body} gave {response.status_code}: {response.text}"
    assert ["body", field] in [e["loc"] for e in response.json()["errors"]]
    unchanged = client.get(f"{TASKS}/{task['id']}", headers=alice.headers).json()
    assert (unchanged["tags"], unchanged["due_at"]) == (["a"], None), "a refused patch changed"


def test_the_openapi_says_which_task_fields_a_patch_may_null(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["TaskUpdate"]
    nullable = {
        name
        for name, spec in schema["properties"].items()
        if {"type": "null"} in spec.get("anyOf", [])
    }
    assert nullable == {"due_at"}, f"the schema lets a PATCH null {sorted(nullable)}"
