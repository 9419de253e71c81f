"""Subtitle tracks of videos, one per language.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 17:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'subtitles',
        sa.Column('video_id', sa.Integer(), sa.ForeignKey('videos.id', ondelete='CASCADE'), nullable=False),
        sa.Column('language', sa.String(35), nullable=False),
        sa.Column('label', sa.String(100), nullable=False),
        sa.Column('key', sa.String(500), nullable=False),
        sa.Column('origin', sa.String(16), server_default='upload', nullable=False),
        sa.Column('cues', sa.Integer(), server_default='0', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.PrimaryKeyConstraint('video_id', 'language'),
    )


def downgrade() -> None:
    op.drop_table('subtitles')
