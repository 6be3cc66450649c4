"""Webhook sending: bounded per call, fair across users, once per delivery, checked addresses."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.db import utcnow
from app.models.webhook import WebhookDelivery
from app.settings import Settings
from tests.support.factories import make_user
from tests.support.receivers import after, answer, flood, receiving, trickle
from workers.notifier import webhook_sender
from workers.notifier.webhook_sender import WebhookSender


def _settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "environment": "test",
        "webhook_allow_loopback": True,
        "webhook_deadline_seconds": 3.0,
        "webhook_concurrency": 2,
    }
    return Settings(**(base | overrides))  # type: ignore[arg-type]


def _queue(engine: Engine, owner: uuid.UUID, count: int, *, age_seconds: float = 0) -> list[str]:
    ids = []
    with Session(engine) as session:
        for i in range(count):
            event_id = f"evt-{uuid.uuid4().hex[:12]}"
            session.add(
                WebhookDelivery(
                    owner_id=owner,
                    source_event_id=event_id,
                    body={"type": "reminder.due", "id": event_id},
                    next_attempt_at=utcnow() - timedelta(seconds=age_seconds - i * 0.001),
                )
            )
            ids.append(event_id)
        session.commit()
    return ids


def _rows(engine: Engine, owner: uuid.UUID | None = None) -> list[WebhookDelivery]:
    with Session(engine) as session:
        query = select(WebhookDelivery)
        if owner is not None:
            query = query.where(WebhookDelivery.owner_id == owner)
        return list(session.exec(query.order_by(col(WebhookDelivery.next_attempt_at))))


def _settled(engine: Engine, owner: uuid.UUID | None = None) -> bool:
    return all(r.delivered_at or r.attempts for r in _rows(engine, owner))


def _drive(senders: list[WebhookSender], done: Callable[[], bool], *, within: float) -> None:
    """Step the senders as their loops would until done() holds; fail after `within` s."""
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, f"not done after {within}s: {done.__name__}"
        if sum(sender.step() for sender in senders) == 0:
            senders[0].wait(0.05)


def test_a_trickling_endpoint_is_cut_at_the_deadline_and_another_user_is_not_kept_waiting(
    engine: Engine,
) -> None:
    with receiving() as receiver:
        receiver.behaviours["/slow"] = trickle(every=0.5, times=60)
        slow = make_user(engine, webhook=receiver.url("/slow"))
        quick = make_user(engine, webhook=receiver.url("/quick"))
        _queue(engine, slow, 3, age_seconds=60)  # older, so first in line
        _queue(engine, quick, 1)
        sender = WebhookSender(engine, _settings())
        try:
            _drive([sender], lambda: _settled(engine, quick), within=20)
            assert all(r.attempts == 0 for r in _rows(engine, slow)), (
                "the quick user's call waited for the trickling one"
            )
            _drive([sender], lambda: any(r.attempts for r in _rows(engine, slow)), within=20)
        finally:
            sender.close()
        first = next(r for r in _rows(engine, slow) if r.attempts)
        assert "within 3 s" in (first.last_error or ""), f"not cut by the deadline: {first}"
        assert _rows(engine, quick)[0].delivered_at is not None
        started = next(r.at for r in receiver.received if r.path == "/slow")
        assert time.monotonic() - started < 15, "the 30 s trickle was not cut near 3 s"


def test_a_huge_answer_is_read_no_further_than_the_size_cap(engine: Engine) -> None:
    with receiving() as receiver:
        receiver.behaviours["/huge"] = flood(256 * 1024 * 1024, receiver)
        owner = make_user(engine, webhook=receiver.url("/huge"))
        _queue(engine, owner, 1)
        sender = WebhookSender(engine, _settings(webhook_deadline_seconds=30))
        try:
            _drive([sender], lambda: _settled(engine), within=40)
        finally:
            sender.close()
        assert _rows(engine)[0].delivered_at is not None, _rows(engine)[0].last_error
        # Kernel socket buffers hold a few MiB beyond what the sender read (64 KiB).
        assert receiver.sent_bytes < 32 * 1024 * 1024, f"{receiver.sent_bytes} bytes were taken"


def test_no_call_is_posted_twice_when_the_work_outlasts_the_first_claim(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Claims last 1.1 s here while the 16 calls take about 2.4 s on two senders.
    monkeypatch.setattr(webhook_sender, "LEASE_MARGIN_SECONDS", 0.1)
    with receiving() as receiver:
        receiver.behaviours["/hook"] = after(0.3, answer(200))
        expected: list[str] = []
        for _ in range(4):
            owner = make_user(engine, webhook=receiver.url("/hook"))
            expected += _queue(engine, owner, 4)
        settings = _settings(webhook_deadline_seconds=1.0, webhook_concurrency=1)
        senders = [WebhookSender(engine, settings), WebhookSender(engine, settings)]
        try:
            _drive(senders, lambda: _settled(engine), within=60)
        finally:
            for sender in senders:
                sender.close()
        posted = Counter(r.headers["X-Taskstream-Event-Id"] for r in receiver.received)
        assert {k: n for k, n in posted.items() if n > 1} == {}, "some calls were posted twice"
        assert sorted(posted) == sorted(expected)
        assert all(r.delivered_at for r in _rows(engine)), "some calls were not delivered"


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(engine: Engine) -> None:
    with receiving() as receiver:
        receiver.behaviours["/moved"] = answer(307, {"Location": receiver.url("/elsewhere")})
        owner = make_user(engine, webhook=receiver.url("/moved"))
        _queue(engine, owner, 1)
        sender = WebhookSender(engine, _settings())
        try:
            _drive([sender], lambda: _settled(engine), within=20)
        finally:
            sender.close()
        row = _rows(engine)[0]
        assert row.delivered_at is None, "a redirect counted as delivered"
        assert "redirects are not followed" in (row.last_error or ""), row.last_error
        assert receiver.paths() == ["/moved"], "the redirect was followed"


def test_a_secret_sealed_under_another_key_gives_up_without_calling(engine: Engine) -> None:
    with receiving() as receiver:
        owner = make_user(engine, webhook=receiver.url("/hook"))
        _queue(engine, owner, 1)
        sender = WebhookSender(engine, _settings(webhook_secret_key="another-key-" * 4))
        try:
            _drive([sender], lambda: _settled(engine), within=20)
        finally:
            sender.close()
        row = _rows(engine)[0]
        assert row.gave_up_at is not None, "a delivery that can never be signed is retried"
        assert "cannot be unsealed" in (row.last_error or ""), row.last_error
        assert receiver.received == [], "an unsigned or wrongly signed call went out"
