"""What the application role needs to run migrations on a PostgreSQL database it does not own.

Managed PostgreSQL hands out databases owned by its admin role, and since PostgreSQL 15 the
`public` schema belongs to the database owner (pg_database_owner) with no CREATE for anyone
else. An admin therefore grants the application role what the migrations use, and nothing
more: the role keeps its place as a plain tenant (it cannot grant to others or drop the
database), and owns the tables it creates, so later migrations can alter them.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

SCHEMA = "public"


def quote_identifier(name: str) -> str:
    """A PostgreSQL identifier, always quoted so any role or database name is taken literally."""
    if not name or "\x00" in name:
        raise ValueError(f"{name!r} is not a valid PostgreSQL identifier")
    return '"' + name.replace('"', '""') + '"'


def migration_grants(*, database: str, role: str) -> tuple[str, ...]:
    """The statements, in order, that let ``role`` connect to ``database`` and migrate it."""
    db, grantee, schema = quote_identifier(database), quote_identifier(role), SCHEMA
    return (
        # PUBLIC has CONNECT by default, but a hardened server may have revoked it.
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {grantee}",
        f"GRANT USAGE, CREATE ON SCHEMA {quote_identifier(schema)} TO {grantee}",
    )


def grant_migration_privileges(admin: Engine, role: str) -> tuple[str, ...]:
    """Run the grants as ``admin`` on the database it is connected to; returns what ran."""
    with admin.begin() as connection:
        database = connection.execute(sa.text("SELECT current_database()")).scalar_one()
        statements = migration_grants(database=str(database), role=role)
        for statement in statements:
            connection.exec_driver_sql(statement)
    return statements
