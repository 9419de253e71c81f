"""Videos: count of watchdog re-queues (backoff for re-publishing stalled videos).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 21:46:23.043657
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('videos', sa.Column('requeues', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    op.drop_column('videos', 'requeues')
