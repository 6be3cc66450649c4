"""The migrations build exactly the schema the models describe, on both dialects."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.db import MIGRATIONS_DIR, include_in_autogenerate
from app.sealing import unseal


def test_a_migrated_database_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_autogenerate}
        )
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], f"models and migrations disagree: {differences}"


def _migrate(engine: Engine, revision: str, *, key: str | None, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["webhook_secret_key"] = key
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_webhook_secrets_kept_in_the_clear_are_sealed_by_the_upgrade(engine: Engine) -> None:
    key = "m" * 48
    owner = uuid.uuid4()
    _migrate(engine, "0003", key=key, down=True)
    users = sa.table(
        "user",
        sa.column("id", sa.Uuid()),
        sa.column("email", sa.String()),
        sa.column("password_hash", sa.String()),
        sa.column("webhook_url", sa.String()),
        sa.column("webhook_secret", sa.String()),
        sa.column("created_at", sa.DateTime()),
    )
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(
                id=owner,
                email="old@example.com",
                password_hash="x",
                webhook_url="https://hooks.example.com/in",
                webhook_secret="an-old-plaintext-secret",
                created_at=datetime(2026, 1, 1),
            )
        )
    with pytest.raises(RuntimeError, match="TASKSTREAM_WEBHOOK_SECRET_KEY"):
        _migrate(engine, "head", key=None)
    _migrate(engine, "head", key=key)
    with engine.connect() as connection:
        row = connection.execute(sa.text('SELECT * FROM "user"')).mappings().one()
    assert "webhook_secret" not in row, "the plaintext column survived"
    assert unseal(key, row["webhook_secret_sealed"], owner.bytes) == "an-old-plaintext-secret"
