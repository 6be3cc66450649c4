"""Recurring series over HTTP: creation materialises, preview, presets, validation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ApiUser

SERIES = "/api/v1/recurring-tasks"


def test_creating_a_series_materialises_its_first_occurrence_as_a_task(
    client: TestClient, alice: ApiUser
) -> None:
    created = client.post(
        SERIES,
        headers=alice.headers,
        json={
            "title": "Stand-up",
            "rrule": "FREQ=WEEKLY;BYDAY=MO,WE",
            "timezone": "Europe/Paris",
            "start": "2030-01-07T09:30:00",
            "tags": ["work"],
            "reminders": ["PT10M"],
        },
    )
    assert created.status_code == 201, created.text
    series = created.json()
    assert series["rrule"] == "FREQ=WEEKLY;BYDAY=MO,WE"
    assert series["next_due_at"] == "2030-01-07T08:30:00Z"
    tasks = client.get(
        "/api/v1/tasks", headers=alice.headers, params={"series_id": series["id"]}
    ).json()
    assert tasks["total"] == 1
    task = tasks["items"][0]
    assert (task["title"], task["tags"], task["reminders"]) == ("Stand-up", ["work"], ["PT10M"])
    assert task["due_at"] == "2030-01-07T08:30:00Z"
    assert task["series_id"] == series["id"]


def test_preview_lists_local_and_utc_times_across_dst(client: TestClient, alice: ApiUser) -> None:
    series = client.post(
        SERIES,
        headers=alice.headers,
        json={
            "title": "Gym",
            "preset": {"frequency": "daily", "interval": 1},
            "timezone": "America/New_York",
            "start": "2030-03-09T09:00:00",
        },
    ).json()
    assert series["rrule"] == "FREQ=DAILY;INTERVAL=1"
    preview = client.get(
        f"{SERIES}/{series['id']}/preview", headers=alice.headers, params={"count": 3}
    )
    assert preview.status_code == 200
    assert preview.json()["occurrences"] == [
        {"local": "2030-03-09T09:00:00-05:00", "utc": "2030-03-09T14:00:00Z"},
        {"local": "2030-03-10T09:00:00-04:00", "utc": "2030-03-10T13:00:00Z"},
        {"local": "2030-03-11T09:00:00-04:00", "utc": "2030-03-11T13:00:00Z"},
    ]


def test_bad_rules_timezones_and_shapes_are_field_errors(
    client: TestClient, alice: ApiUser
) -> None:
    base = {"title": "x", "start": "2030-01-01T09:00:00"}
    cases = [
        ({**base, "rrule": "FREQ=FORTNIGHTLY"}, "rrule"),
        ({**base, "rrule": "FREQ=DAILY", "timezone": "Nowhere/City"}, "timezone"),
        ({**base, "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),
    ]
    for body, field in cases:
        response = client.post(SERIES, headers=alice.headers, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["loc"] == ["body", field], response.text
    both = client.post(
        SERIES,
        headers=alice.headers,
        json={**base, "rrule": "FREQ=DAILY", "preset": {"frequency": "daily"}},
    )
    assert both.status_code == 422
    neither = client.post(SERIES, headers=alice.headers, json=base)
    assert neither.status_code == 422


def test_a_series_can_be_paused_listed_and_deleted_leaving_its_tasks(
    client: TestClient, alice: ApiUser
) -> None:
    series = client.post(
        SERIES,
        headers=alice.headers,
        json={
            "title": "Water plants",
            "rrule": "FREQ=DAILY;INTERVAL=3",
            "mode": "after_completion",
            "start": "2030-01-01T08:00:00",
        },
    ).json()
    assert series["mode"] == "after_completion"
    paused = client.patch(
        f"{SERIES}/{series['id']}", headers=alice.headers, json={"is_active": False}
    )
    assert paused.status_code == 200
    assert paused.json()["is_active"] is False
    assert client.get(SERIES, headers=alice.headers).json()["total"] == 1
    assert client.delete(f"{SERIES}/{series['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"{SERIES}/{series['id']}", headers=alice.headers).status_code == 404
    tasks = client.get("/api/v1/tasks", headers=alice.headers).json()
    assert tasks["total"] == 1
    assert tasks["items"][0]["series_id"] is None
