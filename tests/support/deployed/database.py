"""A database set up as DigitalOcean's managed PostgreSQL (15+) hands it to the program.

The admin role owns the database; the application role is an ordinary login role that owns
nothing; schema `public` belongs to pg_database_owner and PUBLIC may not create in it (the
PostgreSQL 15 default, stated explicitly so an older server behaves the same).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from psycopg import sql

from infra.components.database import USER_NAME
from tests.support.postgres import PostgresServer

ADMIN_ROLE = "doadmin"
APP_PASSWORD = "deployed-tier-password"


@dataclass(frozen=True)
class ManagedDatabase:
    name: str
    admin_url: str
    app_url: str
    app_role: str


def _ensure_role(conn: psycopg.Connection, role: str, options: sql.Composable) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    if exists is None:
        conn.execute(sql.SQL("CREATE ROLE {} ").format(sql.Identifier(role)) + options)


def managed_database(server: PostgresServer, *, app_role: str = USER_NAME) -> ManagedDatabase:
    """A fresh database owned by ADMIN_ROLE, with `app_role` able to log in and no more."""
    name = f"deployed_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        _ensure_role(conn, ADMIN_ROLE, sql.SQL("LOGIN CREATEDB CREATEROLE"))
        _ensure_role(conn, app_role, sql.SQL("LOGIN PASSWORD {}").format(sql.Literal(APP_PASSWORD)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(ADMIN_ROLE)
            )
        )
    with psycopg.connect(server.dsn(name), autocommit=True) as conn:
        conn.execute("ALTER SCHEMA public OWNER TO pg_database_owner")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    host = f"127.0.0.1:{server.port}"
    return ManagedDatabase(
        name=name,
        admin_url=f"postgresql+psycopg://{ADMIN_ROLE}@{host}/{name}",
        app_url=f"postgresql+psycopg://{app_role}:{APP_PASSWORD}@{host}/{name}",
        app_role=app_role,
    )
