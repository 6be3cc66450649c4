"""The webhook setting: public https targets only, refused with a 422 that says why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.main import create_app
from app.models.user import User
from app.sealing import unseal
from app.settings import Settings
from tests.support.accounts import register_user
from tests.support.resolvers import PUBLIC, PUBLIC_V6, FakeResolver

WEBHOOK = "/api/v1/notifications/webhook"
SECRET = "s" * 20

DNS = {
    "hooks.example.com": [PUBLIC, PUBLIC_V6],
    "internal.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
    "mixed.example.com": [PUBLIC, "127.0.0.1"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
}


@contextmanager
def _client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine, resolver=FakeResolver(DNS))) as client:
        yield client


@pytest.fixture
def dev_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with _client(settings.model_copy(update={"environment": "test"}), engine) as client:
        yield client


@pytest.fixture
def prod_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    prod = Settings(
        environment="prod",
        database_url=settings.database_url,
        jwt_secret="j" * 48,  # type: ignore[arg-type]
        webhook_secret_key="w" * 48,  # type: ignore[arg-type]
    )
    with _client(prod, engine) as client:
        yield client


def test_the_webhook_is_set_shown_without_its_secret_and_removed(
    dev_client: TestClient, engine: Engine
) -> None:
    alice = register_user(dev_client)
    secret = "a-secret-nobody-else-knows"
    body = {"url": "https://hooks.example.com/taskstream", "secret": secret}
    assert dev_client.put(WEBHOOK, headers=alice.headers, json=body).status_code == 200
    with engine.connect() as connection:
        stored = " ".join(map(str, connection.execute(sa.text('SELECT * FROM "user"')).all()))
    assert secret not in stored, "the webhook secret is stored in the clear"
    with Session(engine) as session:
        user = session.get(User, uuid.UUID(alice.id))
        assert user is not None
        assert user.webhook_secret_sealed is not None
        key = Settings(environment="test").webhook_secret_key.get_secret_value()
        assert unseal(key, user.webhook_secret_sealed, user.id.bytes) == secret
    shown = dev_client.get(WEBHOOK, headers=alice.headers).json()
    assert shown == {"url": "https://hooks.example.com/taskstream", "configured": True}
    assert dev_client.delete(WEBHOOK, headers=alice.headers).status_code == 204
    assert dev_client.get(WEBHOOK, headers=alice.headers).json()["configured"] is False
    bad = dev_client.put(WEBHOOK, headers=alice.headers, json={"url": "ftp://x", "secret": "short"})
    assert bad.status_code == 422


HOSTILE = [
    ("http://127.0.0.1/hook", "not a public"),
    ("http://127.9.8.7:3500/v1.0/shutdown", "not a public"),
    ("http://localhost:3500/v1.0/shutdown", "names this machine"),
    ("http://LOCALHOST./hook", "names this machine"),
    ("http://sidecar.localhost/hook", "names this machine"),
    ("http://[::1]:3500/", "not a public"),
    ("http://0.0.0.0/", "not a public"),
    ("http://169.254.169.254/latest/meta-data/", "not a public"),
    ("http://10.0.0.5/", "not a public"),
    ("http://172.16.0.1/", "not a public"),
    ("http://192.168.1.1/", "not a public"),
    ("http://100.64.0.1/", "not a public"),
    ("http://224.0.0.1/", "not a public"),
    ("http://2130706433/", "not a public"),
    ("http://0x7f000001/", "not a public"),
    ("http://0177.0.0.1/", "not a public"),
    ("http://127.1/", "not a public"),
    ("http://[::ffff:127.0.0.1]/", "not a public"),
    ("http://[::ffff:a9fe:a9fe]/", "not a public"),
    ("http://[::7f00:1]/", "not a public"),
    ("http://[64:ff9b::a9fe:a9fe]/", "not a public"),
    ("http://[2002:7f00:1::]/", "not a public"),
    ("http://[fe80::1]/", "not a public"),
    ("http://[fd00::1]/", "not a public"),
    ("http://user:pass@hooks.example.com/", "credentials"),
    ("http://hooks.example.com@127.0.0.1/", "credentials"),
    ("http://internal.example.com/", "resolves to an address that is not public"),
    ("http://metadata.example.com/", "resolves to an address that is not public"),
    ("http://mixed.example.com/", "resolves to an address that is not public"),
    ("http://mapped.example.com/", "resolves to an address that is not public"),
    ("http://nowhere.example.com/", "does not resolve"),
]


def test_every_url_that_can_reach_a_non_public_address_is_refused_naming_the_field(
    dev_client: TestClient,
) -> None:
    alice = register_user(dev_client)
    wrong: list[str] = []
    for url, reason in HOSTILE:
        answer = dev_client.put(WEBHOOK, headers=alice.headers, json={"url": url, "secret": SECRET})
        if answer.status_code != 422:
            wrong.append(f"{url} answered {answer.status_code}")
            continue
        problem = answer.json()
        if answer.headers["content-type"] != "application/problem+json":
            wrong.append(f"{url} answered {answer.headers['content-type']}")
        if [e["loc"] for e in problem["errors"]] != [["body", "url"]]:
            wrong.append(f"{url} named {problem['errors']}")
        if reason not in problem["detail"]:
            wrong.append(f"{url} gave no reason {reason!r}: {problem['detail']}")
    assert not wrong, "hostile webhook URLs:\n" + "\n".join(wrong)
    assert dev_client.get(WEBHOOK, headers=alice.headers).json()["configured"] is False


def test_outside_dev_only_https_on_port_443_is_accepted(prod_client: TestClient) -> None:
    alice = register_user(prod_client)
    for url, reason in [
        ("http://hooks.example.com/in", "must use https"),
        ("https://hooks.example.com:8443/in", "port 443"),
        ("https://internal.example.com/in", "not public"),
    ]:
        answer = prod_client.put(
            WEBHOOK, headers=alice.headers, json={"url": url, "secret": SECRET}
        )
        assert answer.status_code == 422, f"{url} was accepted in prod"
        assert reason in answer.json()["detail"], f"{url}: {answer.json()['detail']}"
    good = {"url": "https://hooks.example.com/in", "secret": SECRET}
    assert prod_client.put(WEBHOOK, headers=alice.headers, json=good).status_code == 200


def test_loopback_receivers_are_an_explicit_dev_only_choice(
    settings: Settings, engine: Engine
) -> None:
    allowed = settings.model_copy(update={"environment": "test", "webhook_allow_loopback": True})
    with _client(allowed, engine) as client:
        alice = register_user(client)
        body = {"url": "http://127.0.0.1:9/hook", "secret": SECRET}
        assert client.put(WEBHOOK, headers=alice.headers, json=body).status_code == 200
        private = {"url": "http://10.0.0.5/hook", "secret": SECRET}
        assert client.put(WEBHOOK, headers=alice.headers, json=private).status_code == 422, (
            "allowing loopback opened private ranges too"
        )
