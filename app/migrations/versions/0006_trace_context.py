"""trace context on outbox rows and scheduled reminders

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

The W3C trace context of the request (or event) that wrote an outbox row, so the relay can
publish the event inside the same trace (app/tracing.py), and of the change that scheduled
a reminder, so its firing continues that trace. Nullable columns only: the previous
release keeps writing rows without them (expand/contract, docs/infra.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("outboxevent", "scheduledreminder")


def upgrade() -> None:
    # traceparent: "00-" + 32 + "-" + 16 + "-" + 2 hex digits; tracestate: bounded here,
    # and app.tracing drops a longer one (W3C lets a hop drop tracestate entries).
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))
            batch.add_column(sa.Column("tracestate", sa.String(length=512), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tracestate")
            batch.drop_column("traceparent")
