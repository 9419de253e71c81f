"""Chunked films without a shared folder: each part's served segments recorded in its plan row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 10:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'video_chunks',
        sa.Column('served', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    )


def downgrade() -> None:
    op.drop_column('video_chunks', 'served')
