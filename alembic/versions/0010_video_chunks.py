"""Chunked transcoding: the jobs of a film's plan, their state, claims and attempts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 04:50:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'video_chunks',
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('part', sa.Integer(), nullable=False),
        sa.Column('output', sa.String(length=500), nullable=False),
        sa.Column('start', sa.Float(), nullable=False),
        sa.Column('length', sa.Float(), nullable=False),
        sa.Column('state', sa.String(length=16), server_default='queued', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('seconds', sa.Float(), server_default='0', nullable=False),
        sa.Column('speed', sa.Float(), nullable=True),
        sa.Column('worker', sa.String(length=64), nullable=True),
        sa.Column('heartbeat', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['video_id'], ['videos.id'], name=op.f('fk_video_chunks_video_id_videos'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('video_id', 'part', name=op.f('pk_video_chunks')),
    )


def downgrade() -> None:
    op.drop_table('video_chunks')
