"""Resumable uploads to S3: the multipart upload a tus upload streams into, and the parts it has sent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 07:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('uploads', sa.Column('multipart_id', sa.String(length=1024), nullable=True))
    op.add_column(
        'uploads',
        sa.Column('parts', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    )


def downgrade() -> None:
    op.drop_column('uploads', 'parts')
    op.drop_column('uploads', 'multipart_id')
