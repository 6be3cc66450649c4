"""outbox trace context

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

The W3C trace context of the request (or event) that wrote an outbox row, so the relay can
publish the event inside the same trace (app/tracing.py). Nullable columns only: the
previous release keeps writing rows without them (expand/contract, docs/infra.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # traceparent: "00-" + 32 + "-" + 16 + "-" + 2 hex digits; tracestate: at most 32
    # list members (W3C Trace Context), kept to a bound the relay forwards unchanged.
    with op.batch_alter_table("outboxevent") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))
        batch.add_column(sa.Column("tracestate", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outboxevent") as batch:
        batch.drop_column("tracestate")
        batch.drop_column("traceparent")
