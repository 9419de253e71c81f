"""Videos keep the detail of their job's progress: FFmpeg's speed, the ETA, and each rendition's share.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 03:10:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'videos',
        sa.Column('progress_detail', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'"),
                  nullable=False),
    )


def downgrade() -> None:
    op.drop_column('videos', 'progress_detail')
