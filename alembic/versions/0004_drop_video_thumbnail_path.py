"""Videos: drop thumbnail_path. The thumbnail is always `thumbnail.jpg` in the output folder (hls_path), which
is what the thumbnail route serves; a second column naming it could only disagree.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:12:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column('videos', 'thumbnail_path')


def downgrade() -> None:
    op.add_column('videos', sa.Column('thumbnail_path', sa.String(length=500), nullable=True))
    op.execute("UPDATE videos SET thumbnail_path = hls_path || '/thumbnail.jpg' WHERE hls_path IS NOT NULL")
