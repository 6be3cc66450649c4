"""Registration, login, throttling and the current user."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ApiUser, register_user

AUTH = "/api/v1/auth"


def test_register_login_and_me_round_trip(client: TestClient) -> None:
    user = register_user(client, "Carol@Example.com")
    me = client.get(f"{AUTH}/me", headers=user.headers)
    assert me.status_code == 200
    assert me.json()["email"] == "carol@example.com"
    assert "password" not in me.text
    assert "password_hash" not in me.text


def test_registering_an_email_twice_is_a_conflict(client: TestClient, alice: ApiUser) -> None:
    again = client.post(
        f"{AUTH}/register", json={"email": "ALICE@example.com", "password": "x" * 12}
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


def test_a_short_password_or_bad_email_is_a_field_error(client: TestClient) -> None:
    short = client.post(f"{AUTH}/register", json={"email": "d@example.com", "password": "short"})
    assert short.status_code == 422
    assert short.json()["errors"][0]["loc"] == ["body", "password"]
    bad = client.post(f"{AUTH}/register", json={"email": "not-an-email", "password": "x" * 12})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "email"]


def test_wrong_password_is_401_and_repeated_failures_are_throttled(
    client: TestClient, alice: ApiUser
) -> None:
    for _ in range(5):
        wrong = client.post(
            f"{AUTH}/token", data={"username": alice.email, "password": "nope-nope"}
        )
        assert wrong.status_code == 401
    throttled = client.post(
        f"{AUTH}/token", data={"username": alice.email, "password": "nope-nope"}
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1


def test_requests_without_or_with_a_forged_token_are_401(client: TestClient) -> None:
    assert client.get(f"{AUTH}/me").status_code == 401
    forged = client.get(f"{AUTH}/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.headers["WWW-Authenticate"] == "Bearer"
