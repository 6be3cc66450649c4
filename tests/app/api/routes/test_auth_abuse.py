"""Login and registration under abuse: bounded throttles, real client addresses, no lockouts."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.db import make_engine
from app.main import create_app
from app.settings import Settings
from app.throttle import LoginLimits, LoginThrottle
from tests.support.accounts import PASSWORD, register_user
from tests.support.hashing import CountingHasher
from tests.support.served import served

AUTH = "/api/v1/auth"
EDGE = "10.244.3.4"  # an edge proxy pod


@contextmanager
def _from(app: FastAPI, peer: str) -> Iterator[TestClient]:
    with TestClient(app, client=(peer, 50000)) as client:
        yield client


def _app(settings: Settings, engine: Engine, **overrides: object) -> FastAPI:
    """The app behind the edge, its login throttle on a stopped clock so no window refills."""
    update = {"trusted_proxies": [ipaddress.ip_network("10.244.0.0/16")], **overrides}
    settings = settings.model_copy(update=update)
    app = create_app(settings, engine)
    app.state.login_throttle = LoginThrottle(LoginLimits.from_settings(settings), clock=lambda: 0.0)
    return app


def _login(client: TestClient, email: str, password: str, via: str | None = None) -> int:
    headers = {"X-Forwarded-For": via} if via else {}
    form = {"username": email, "password": password}
    return client.post(f"{AUTH}/token", data=form, headers=headers).status_code


def test_a_username_longer_than_an_email_is_refused_before_the_throttle(
    settings: Settings, engine: Engine
) -> None:
    app = _app(settings, engine)
    with _from(app, "203.0.113.9") as client:
        refused = client.post(f"{AUTH}/token", data={"username": "a" * 600_000, "password": "x"})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert len(app.state.login_throttle) == 0, "an oversize username reached the throttle"


def test_behind_the_edge_each_client_has_its_own_bucket(settings: Settings, engine: Engine) -> None:
    app = _app(settings, engine)
    with _from(app, EDGE) as edge:
        for _ in range(settings.login_attempts_per_minute):
            assert _login(edge, "made-up@example.com", "wrong", via="198.51.100.1") == 401
        assert _login(edge, "made-up@example.com", "wrong", via="198.51.100.1") == 429
        assert _login(edge, "made-up@example.com", "wrong", via="198.51.100.2") == 401, (
            "another client behind the edge shares the abuser's bucket"
        )


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(
    settings: Settings, engine: Engine
) -> None:
    app = _app(settings, engine)
    with _from(app, "203.0.113.9") as client:
        for i in range(settings.login_attempts_per_minute):
            assert _login(client, "made-up@example.com", "wrong", via=f"192.0.2.{i}") == 401
        throttled = _login(client, "made-up@example.com", "wrong", via="192.0.2.200")
    assert throttled == 429, "a forged X-Forwarded-For bought a fresh bucket"


def test_failures_from_other_addresses_never_lock_the_owner_out(
    settings: Settings, engine: Engine
) -> None:
    app = _app(settings, engine)
    with _from(app, EDGE) as edge:
        victim = register_user(edge, "victim@example.com")
        for attacker in range(3):
            for _ in range(settings.login_attempts_per_minute + 2):
                _login(edge, victim.email, "guess", via=f"203.0.113.{attacker}")
        assert _login(edge, victim.email, "guess", via="203.0.113.0") == 429
        assert _login(edge, victim.email, PASSWORD, via="192.0.2.7") == 200, (
            "the owner was locked out by failures from other addresses"
        )


def test_registrations_from_one_address_are_throttled(settings: Settings, engine: Engine) -> None:
    app = _app(settings, engine, registrations_per_address_per_hour=2)
    with _from(app, EDGE) as edge:
        for i in range(2):
            created = edge.post(
                f"{AUTH}/register",
                json={"email": f"spam-{i}@example.com", "password": PASSWORD},
                headers={"X-Forwarded-For": "203.0.113.5"},
            )
            assert created.status_code == 201, created.text
        refused = edge.post(
            f"{AUTH}/register",
            json={"email": "spam-9@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.5"},
        )
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        other = edge.post(
            f"{AUTH}/register",
            json={"email": "honest@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.4"},
        )
        assert other.status_code == 201, "another address was refused too"


def _register_many(base: str, count: int) -> list[int]:
    """`count` registrations at once, each on its own connection (threads, not asyncio.run,
    which would leave the main thread without an event loop for later tests)."""

    def one(i: int) -> int:
        body = {"email": f"parallel-{i}@example.com", "password": PASSWORD}
        with httpx.Client(base_url=base, timeout=60) as client:
            return client.post(f"{AUTH}/register", json=body).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_parallel_registrations_hash_at_most_the_configured_number_at_once(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    settings = Settings(
        environment="test",
        database_url=postgres_url,
        password_hash_concurrency=2,
        registrations_per_address_per_hour=100,
    )
    app = create_app(settings, engine)
    counter = CountingHasher(slots=2)
    app.state.password_hashing.hasher = counter
    with served(app, "api-hashing") as port:
        codes = _register_many(f"http://127.0.0.1:{port}", 12)
    engine.dispose()
    assert codes == [201] * 12, codes
    assert counter.most <= 2, f"{counter.most} password hashes ran at once with 2 slots"
