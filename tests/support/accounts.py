"""Users made through the API, the way a client registers and logs in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "correct horse battery staple"  # every test account's


@dataclass
class ApiUser:
    """A registered user and the headers that authenticate as them."""

    email: str
    headers: dict[str, str]
    id: str


def register_user(client: httpx.Client, email: str | None = None) -> ApiUser:
    """Register and log in through the API (a TestClient, or an httpx.Client at a server)."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return ApiUser(email=email, headers=headers, id=created.json()["id"])
