"""series next occurrence

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recurringseries") as batch:
        batch.add_column(
            sa.Column("next_occurrence_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_recurringseries_next_occurrence_at", "recurringseries", ["next_occurrence_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_recurringseries_next_occurrence_at", table_name="recurringseries")
    with op.batch_alter_table("recurringseries") as batch:
        batch.drop_column("next_occurrence_at")
