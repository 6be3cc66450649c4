"""Alembic environment: migrations run on a connection handed over by app.db."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.db import include_in_autogenerate

target_metadata = SQLModel.metadata


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # The FTS5 index and its shadow tables are created by hand in 0001; autogenerate skips them.
    return not (type_ == "table" and name is not None and name.startswith("task_fts"))


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through app.db.run_migrations (taskstream migrate)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_autogenerate,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
