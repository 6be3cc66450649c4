"""Fixtures shared by the whole suite: databases on both dialects and API clients."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.contract import ENV_ENVIRONMENT
from app.db import make_engine, run_migrations
from app.main import create_app
from app.settings import Settings
from tests.support.accounts import ApiUser, register_user
from tests.support.engines import require_engine
from tests.support.postgres import PostgresServer, start_server
from tests.support.resolvers import FakeResolver

TEMPLATE_DB = "taskstream_template"
_names = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def _test_environment() -> Iterator[None]:
    """Settings default to prod; the suite (and the processes it starts) choose `test`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_ENVIRONMENT, "test")
        yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    server = start_server()
    if server is not None:
        template_url = server.create_database(TEMPLATE_DB)
        engine = make_engine(template_url)
        run_migrations(engine)
        engine.dispose()
    yield server
    if server is not None:
        server.destroy()


def _database_url(kind: str, tmp_path: Path, server: PostgresServer | None) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'taskstream.db'}"
        return
    require_engine(
        "postgresql", server is not None, "install Debian's postgresql (tools/engines/postgres.sh)"
    )
    assert server is not None
    name = f"t_{next(_names)}_{uuid.uuid4().hex[:8]}"
    url = server.create_database(name, template=TEMPLATE_DB)
    yield url
    server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | None
) -> Iterator[str]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    yield from _database_url(request.param, tmp_path, postgres_server)


@pytest.fixture
def postgres_url(tmp_path: Path, postgres_server: PostgresServer | None) -> Iterator[str]:
    """A migrated, empty PostgreSQL database, for what only PostgreSQL does (NOTIFY)."""
    yield from _database_url("postgres", tmp_path, postgres_server)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if database_url.startswith("sqlite"):
        run_migrations(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(environment="test", database_url=database_url, login_attempts_per_minute=5)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    # No host resolves: a webhook lookup never leaves the machine.
    with TestClient(create_app(settings, engine, resolver=FakeResolver({}))) as test_client:
        yield test_client


@pytest.fixture
def alice(client: TestClient) -> ApiUser:
    return register_user(client, "alice@example.com")


@pytest.fixture
def bob(client: TestClient) -> ApiUser:
    return register_user(client, "bob@example.com")
