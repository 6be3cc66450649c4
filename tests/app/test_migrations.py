"""The migrations build exactly the schema the models describe, on both dialects."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.db import include_in_autogenerate


def test_a_migrated_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_autogenerate}
        )
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], f"models and migrations disagree: {differences}"
