"""The application role can migrate a PostgreSQL ≥ 15 database it does not own once granted."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from app.db_grants import migration_grants
from tests.support.engines import require_engine
from tests.support.ports import LOOPBACK
from tests.support.postgres import PostgresServer
from tools.dev.stack import taskstream_command

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@dataclass(frozen=True)
class ManagedLikeDatabase:
    """A database as a managed service hands it out: an admin owns it, the app role does not."""

    server: PostgresServer
    name: str
    admin: str
    app: str

    def url(self, role: str) -> str:
        return f"postgresql://{role}@{LOOPBACK}:{self.server.port}/{self.name}"


@pytest.fixture
def managed_like(postgres_server: PostgresServer | None) -> Iterator[ManagedLikeDatabase]:
    require_engine("postgresql", postgres_server is not None, "tools/engines/postgres.sh")
    assert postgres_server is not None
    suffix = uuid.uuid4().hex[:8]
    db = ManagedLikeDatabase(postgres_server, f"g_{suffix}", f"admin_{suffix}", f"app_{suffix}")
    with psycopg.connect(postgres_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{db.admin}" LOGIN CREATEDB')
        conn.execute(f'CREATE ROLE "{db.app}" LOGIN')
        conn.execute(f'CREATE DATABASE "{db.name}" OWNER "{db.admin}"')
    with psycopg.connect(postgres_server.dsn(db.name), autocommit=True) as conn:
        # PostgreSQL 15 already starts `public` this way; older servers need it said.
        conn.execute("ALTER SCHEMA public OWNER TO pg_database_owner")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    yield db
    with psycopg.connect(postgres_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{db.app}"')
        conn.execute(f'DROP ROLE IF EXISTS "{db.admin}"')


def _grant(db: ManagedLikeDatabase) -> subprocess.CompletedProcess[str]:
    return _taskstream("db-grant", "--role", db.app, database_url=db.url(db.admin))


def _taskstream(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TASKSTREAM_DATABASE_URL": database_url, "TASKSTREAM_ENVIRONMENT": "dev"}
    return subprocess.run(
        [*taskstream_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_migration_is_denied_to_a_role_that_does_not_own_the_database(
    managed_like: ManagedLikeDatabase,
) -> None:
    migrate = _taskstream("migrate", database_url=managed_like.url(managed_like.app))
    assert migrate.returncode != 0, "the app role created tables in a schema it was not granted"
    assert "permission denied for schema public" in migrate.stderr, migrate.stderr[-2000:]


def test_after_the_admin_grants_the_app_role_migrates_and_owns_what_it_made(
    managed_like: ManagedLikeDatabase,
) -> None:
    grant = _grant(managed_like)
    assert grant.returncode == 0, f"the grant failed:\n{grant.stdout}{grant.stderr}"
    for _ in range(2):  # a second migrate is a no-op, as on every later deploy
        migrate = _taskstream("migrate", database_url=managed_like.url(managed_like.app))
        assert migrate.returncode == 0, f"migrate after the grant:\n{migrate.stderr[-2000:]}"
    with psycopg.connect(managed_like.server.dsn(managed_like.name)) as conn:
        owners = {
            row[0]
            for row in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
        }
        db_owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert owners == {managed_like.app}, f"public's tables belong to {owners}"
    assert db_owner == (managed_like.admin,), f"the grant changed the database owner: {db_owner}"


def test_granting_twice_is_harmless(managed_like: ManagedLikeDatabase) -> None:
    for _ in range(2):
        grant = _grant(managed_like)
        assert grant.returncode == 0, f"a repeated grant failed:\n{grant.stderr[-2000:]}"


def test_the_grants_quote_the_names_they_are_given() -> None:
    statements = migration_grants(database='we"ird', role="x; DROP ROLE admin")
    assert any('ON DATABASE "we""ird"' in s for s in statements), statements
    assert all(s.endswith('TO "x; DROP ROLE admin"') for s in statements), statements
