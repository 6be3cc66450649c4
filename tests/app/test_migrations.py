"""The migrations build exactly the schema the models describe, on both dialects."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.db import MIGRATIONS_DIR, include_in_autogenerate, run_migrations
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


# ------------------------------------------------------------------ image rollbacks


def _older_image_migrations(tmp_path: Path) -> Path:
    """The migrations an image one release older ships: this tree without its newest revision."""
    older = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, older, ignore=shutil.ignore_patterns("__pycache__"))
    newest = sorted((older / "versions").glob("[0-9]*.py"))[-1]
    newest.unlink()
    return older


def _revision(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def test_the_migrate_job_of_an_older_image_leaves_a_newer_schema_alone(
    engine: Engine, tmp_path: Path
) -> None:
    # A rollback deploys the previous image, whose migrate Job runs first (docs/infra.md,
    # "Rollback"): it must neither fail the rollout nor touch the schema it does not know.
    head = _revision(engine)
    ahead = run_migrations(engine, migrations_dir=_older_image_migrations(tmp_path))
    assert ahead == tuple(sorted(head)), "the older image did not see the database was ahead"
    assert _revision(engine) == head, "the older image changed the schema's revision"


def test_the_current_image_upgrades_and_reports_nothing_ahead(engine: Engine) -> None:
    assert run_migrations(engine) == ()


# ------------------------------------------------------------------ the task counter (0007)


def _old_rows(engine: Engine, tasks: int) -> uuid.UUID:
    """A user with `tasks` tasks, written as a release before 0007 writes them."""
    owner = uuid.uuid4()
    users = sa.table(
        "user",
        sa.column("id", sa.Uuid()),
        sa.column("email", sa.String()),
        sa.column("password_hash", sa.String()),
        sa.column("created_at", sa.DateTime()),
    )
    task = sa.table(
        "task",
        *(sa.column(name, sa.String()) for name in ("title", "description", "status")),
        *(sa.column(name, sa.Integer()) for name in ("priority_rank", "version")),
        *(sa.column(name, sa.Uuid()) for name in ("id", "owner_id")),
        sa.column("reminders", sa.JSON()),
        *(sa.column(name, sa.DateTime()) for name in ("created_at", "updated_at")),
    )
    at = datetime(2026, 1, 1)
    with engine.begin() as connection:
        connection.execute(
            users.insert().values(
                id=owner, email=f"{owner.hex}@example.com", password_hash="x", created_at=at
            )
        )
        for n in range(tasks):
            connection.execute(
                task.insert().values(
                    id=uuid.uuid4(),
                    owner_id=owner,
                    title=f"t{n}",
                    description="",
                    status="todo",
                    priority_rank=2,
                    version=1,
                    reminders=[],
                    created_at=at,
                    updated_at=at,
                )
            )
    return owner


def _task_count(engine: Engine, owner: uuid.UUID) -> int:
    users = sa.table("user", sa.column("id", sa.Uuid()), sa.column("task_count", sa.Integer()))
    with engine.connect() as connection:
        counted: int = connection.execute(
            sa.select(users.c.task_count).where(users.c.id == owner)
        ).scalar_one()
    return counted


def test_the_upgrade_counts_the_tasks_already_there_and_triggers_count_the_rest(
    engine: Engine,
) -> None:
    _migrate(engine, "0006", key=None, down=True)
    owner = _old_rows(engine, 3)
    _migrate(engine, "head", key=None)
    assert _task_count(engine, owner) == 3, "the backfill missed tasks made before 0007"
    # An older release keeps inserting while a rollout runs: the triggers count its rows too.
    other = _old_rows(engine, 2)
    assert _task_count(engine, other) == 2, "a task inserted after the upgrade went uncounted"


def test_the_counter_downgrades_and_upgrades_again(engine: Engine) -> None:
    _migrate(engine, "0006", key=None, down=True)
    with engine.connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("user")}
    assert "task_count" not in columns, "the downgrade left the column"
    owner = _old_rows(engine, 1)  # no trigger is left to touch a missing column
    _migrate(engine, "head", key=None)
    assert _task_count(engine, owner) == 1
