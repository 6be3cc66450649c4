"""retention indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Each retention sweep selects expired rows by one timestamp; without an index on it every
round read the whole table (inbox entries, dead letters, given-up webhook deliveries, read
notifications).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_inboxentry_processed_at", "inboxentry", "processed_at"),
    ("ix_deadletter_created_at", "deadletter", "created_at"),
    ("ix_webhookdelivery_gave_up_at", "webhookdelivery", "gave_up_at"),
    ("ix_notification_read_at", "notification", "read_at"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
