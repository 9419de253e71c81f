"""The service's census (issue 38): each worker's row, renewed while it runs (who is online, what it holds,
the Kafka group and backlog as it last saw them), and each film's bytes in the store (measured by the storage
sweep), for the operators' service panel and the storage alerts.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 07:10:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("stopped_at", sa.DateTime(timezone=True)),
        sa.Column("jobs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("kafka", JSONB, nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("videos", sa.Column("stored_bytes", sa.BigInteger))


def downgrade() -> None:
    op.drop_column("videos", "stored_bytes")
    op.drop_table("workers")
