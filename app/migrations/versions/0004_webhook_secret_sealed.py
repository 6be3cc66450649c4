"""webhook secret sealed

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from app.sealing import seal, unseal

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table(
    "user",
    sa.column("id", sa.Uuid()),
    sa.column("webhook_secret", sa.String()),
    sa.column("webhook_secret_sealed", sa.String()),
)


def _key() -> str:
    key = context.config.attributes.get("webhook_secret_key")
    if not key:
        raise RuntimeError(
            "webhook secrets are stored in the clear and must be sealed: run `taskstream "
            "migrate` with TASKSTREAM_WEBHOOK_SECRET_KEY set"
        )
    return str(key)


def _convert(source: sa.ColumnClause[str], target: str, change: object) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(users.c.id, source).where(source.is_not(None))).all()
    if not rows:
        return
    key = _key()
    for user_id, value in rows:
        owner = uuid.UUID(str(user_id))
        bind.execute(
            users.update()
            .where(users.c.id == owner)
            .values({target: change(key, value, owner.bytes)})  # type: ignore[operator]
        )


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("webhook_secret_sealed", sa.String(length=512), nullable=True))
    _convert(users.c.webhook_secret, "webhook_secret_sealed", seal)
    with op.batch_alter_table("user") as batch:
        batch.drop_column("webhook_secret")


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("webhook_secret", sa.String(length=255), nullable=True))
    _convert(users.c.webhook_secret_sealed, "webhook_secret", unseal)
    with op.batch_alter_table("user") as batch:
        batch.drop_column("webhook_secret_sealed")
