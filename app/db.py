"""Database engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware, on SQLite too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def shares_one_connection(url: str) -> bool:
    """An in-memory SQLite database: one connection, which only one request may use at once."""
    return normalise_url(url) in ("sqlite://", "sqlite:///:memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN instead of the driver's implicit one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# An execution option marking transactions that only read (see `readers`).
READ_ONLY = "taskstream_read_only"


def _begin(connection: sa.Connection) -> None:
    # Taking the write lock at BEGIN makes read-check-write sequences (version checks,
    # claims) serialisable on SQLite, which has a single writer anyway, and no transaction
    # ever has to turn from reader into writer (which WAL answers with SQLITE_BUSY at once).
    # A transaction that only reads takes no lock: under WAL it reads its own snapshot
    # beside the writer and every other reader.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN DEFERRED")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def readers(engine: Engine) -> Engine:
    """The engine, for requests that never write.

    On SQLite their transactions begin DEFERRED, so they run beside each other and beside
    the one writer. On PostgreSQL they run without a transaction: at READ COMMITTED (its
    default, which taskstream keeps) every statement takes its own snapshot inside a
    transaction too, so a read sees exactly what it saw before, minus the BEGIN and ROLLBACK
    round trips (issue 18: the API's round trips, README "Performance")."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{READ_ONLY: True})


def make_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> Engine:
    """An engine with the per-dialect settings taskstream relies on.

    `pre_ping` tests each PostgreSQL connection with a round trip as it leaves the pool;
    callers that retry a failed step anyway (background loops) may spare themselves that.

    Bound parameters stay out of errors and logs: they carry passwords' hashes, webhook
    secrets and personal data, and a logged IntegrityError used to print them."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        in_memory = shares_one_connection(url)
        if not in_memory:
            path = sa.engine.make_url(url).database
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A file database pools like PostgreSQL (readers share it under WAL); an in-memory
        # one is a single connection.
        pooling: dict[str, Any] = (
            {"poolclass": StaticPool}
            if in_memory
            else {"pool_size": pool_size, "max_overflow": pool_size}
        )
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
            **pooling,
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _begin)
        return engine
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        hide_parameters=True,
    )


def include_in_autogenerate(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Schema comparison skips the full-text search objects 0001 makes by hand (FTS5 tables
    on SQLite; the generated tsvector column and its GIN index on PostgreSQL)."""
    if name is None:
        return True
    if type_ == "table" and name.startswith("task_fts"):
        return False
    return not ((type_ == "column" and name == "search_vector") or name == "ix_task_search")


def run_migrations(
    engine: Engine,
    *,
    webhook_secret_key: str | None = None,
    migrations_dir: Path = MIGRATIONS_DIR,
) -> tuple[str, ...]:
    """Bring the schema to the newest revision; the schema is only ever made this way.

    The webhook key seals secrets that older revisions kept in the clear (0004).

    A database already at a revision these migrations do not know was migrated by a newer
    image: this is an image rollback. Nothing is changed (downgrading would drop what the
    newer release wrote) and those revisions are returned; the older code runs on the newer
    schema because every migration keeps the previous release working (expand/contract,
    docs/infra.md "Rollback"). Otherwise returns ().
    """
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["webhook_secret_key"] = webhook_secret_key
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
        ahead = tuple(sorted(revision for revision in current if revision not in known))
        if ahead:
            return ahead
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return ()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
