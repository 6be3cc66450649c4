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
