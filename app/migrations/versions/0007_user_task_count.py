"""a per-user task counter, kept by the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

The task quota counted the owner's tasks on every create, a scan linear in how many they
have (issue 18, bench/PROFILE-api.md). `user.task_count` holds that number instead. Triggers
keep it, so no code path (the API, the recurrer, a bulk load, a cascade from a deleted user,
an older release still running during a rollout) can forget to.

On PostgreSQL the trigger is a constraint trigger, DEFERRABLE INITIALLY DEFERRED: it fires
when the transaction commits, not at the INSERT (CREATE TRIGGER's CONSTRAINT option,
https://www.postgresql.org/docs/15/sql-createtrigger.html; SET CONSTRAINTS,
https://www.postgresql.org/docs/15/sql-set-constraints.html). An ordinary trigger would
hold the user's row lock from the INSERT to the COMMIT and so serialize every create of one
user (parallel clients, imports, the recurrer); deferred, the lock is held only while the
transaction commits. The UPDATE of a non-key column takes FOR NO KEY UPDATE, which does not
conflict with the FOR KEY SHARE lock that other transactions' foreign-key checks on
task.owner_id take (https://www.postgresql.org/docs/15/explicit-locking.html, "Row-Level
Locks"). Until the commit the counter does not include the transaction's own tasks; the
quota check adds those itself (app.services.quota_checks).

A transaction that inserts many tasks for one owner updates that owner's row once per task
at commit, each update a new row version its own transaction cannot prune: bulk loads
commit in batches (bench/seed.py). TRUNCATE fires no row trigger; nothing truncates task.
A transaction that adds tasks for several owners (the recurrer's window pass) locks their
rows at commit in the order it inserted; two such passes sharing owners in opposite orders
can deadlock, and PostgreSQL then aborts one, which the recurrer's loop runs again. A
transaction for one owner (every API request) waits on no one while holding its row.

On SQLite (one writer at a time anyway) plain AFTER triggers do the same, at once.

The triggers come first, then the backfill: on PostgreSQL CREATE TRIGGER waits for the
writers already inside task and blocks new ones until this migration commits, so every task
is counted exactly once, by the backfill or by a trigger. The column has a server default:
the previous release inserts users without it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_FUNCTION = """
CREATE FUNCTION task_count_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.owner_id IS NOT DISTINCT FROM OLD.owner_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE "user" SET task_count = task_count - 1 WHERE id = OLD.owner_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE "user" SET task_count = task_count + 1 WHERE id = NEW.owner_id;
    END IF;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGER = """
CREATE CONSTRAINT TRIGGER task_count_follow
AFTER INSERT OR DELETE OR UPDATE OF owner_id ON task
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
EXECUTE FUNCTION task_count_follow()
"""

SQLITE_TRIGGERS = {
    "task_count_insert": (
        "AFTER INSERT ON task BEGIN "
        'UPDATE "user" SET task_count = task_count + 1 WHERE id = new.owner_id; END'
    ),
    "task_count_delete": (
        "AFTER DELETE ON task BEGIN "
        'UPDATE "user" SET task_count = task_count - 1 WHERE id = old.owner_id; END'
    ),
    "task_count_move": (
        "AFTER UPDATE OF owner_id ON task WHEN new.owner_id IS NOT old.owner_id BEGIN "
        'UPDATE "user" SET task_count = task_count - 1 WHERE id = old.owner_id; '
        'UPDATE "user" SET task_count = task_count + 1 WHERE id = new.owner_id; END'
    ),
}

BACKFILL = (
    'UPDATE "user" SET task_count = '
    '(SELECT count(*) FROM task WHERE task.owner_id = "user".id)'
)


def upgrade() -> None:
    op.add_column(
        "user", sa.Column("task_count", sa.Integer(), server_default="0", nullable=False)
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute(BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS task_count_follow ON task")
        op.execute("DROP FUNCTION IF EXISTS task_count_follow()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    # Both dialects drop a column in place (SQLite since 3.35); a batch copy of "user" would
    # drop the table and, with foreign keys on, cascade to every task.
    op.execute('ALTER TABLE "user" DROP COLUMN task_count')
