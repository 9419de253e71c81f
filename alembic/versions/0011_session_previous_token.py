"""Login sessions remember the refresh token id they rotated out, for the grace window of racing refreshes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 04:35:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('auth_sessions', sa.Column('previous_jti', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('auth_sessions', 'previous_jti')
