"""The inbox: listing, unread count, marking read."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models.notification import Notification
from tests.conftest import ApiUser

INBOX = "/api/v1/notifications"


def _deliver(engine: Engine, owner: str, count: int) -> None:
    with Session(engine) as session:
        for i in range(count):
            session.add(Notification(owner_id=uuid.UUID(owner), kind="reminder", title=f"n{i}"))
        session.commit()


def test_unread_count_mark_one_and_mark_all(
    client: TestClient, alice: ApiUser, bob: ApiUser, engine: Engine
) -> None:
    _deliver(engine, alice.id, 3)
    _deliver(engine, bob.id, 1)
    assert client.get(f"{INBOX}/unread-count", headers=alice.headers).json() == {"unread": 3}
    items = client.get(INBOX, headers=alice.headers).json()["items"]
    assert len(items) == 3
    read = client.post(f"{INBOX}/{items[0]['id']}/read", headers=alice.headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert client.get(INBOX, headers=alice.headers, params={"unread": True}).json()["total"] == 2
    assert client.post(f"{INBOX}/read-all", headers=alice.headers).json() == {"marked": 2}
    assert client.get(f"{INBOX}/unread-count", headers=alice.headers).json() == {"unread": 0}
    assert client.get(f"{INBOX}/unread-count", headers=bob.headers).json() == {"unread": 1}
