"""Viewers' progress (resume, continue watching) and view counts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 14:10:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('videos', sa.Column('views', sa.BigInteger(), server_default='0', nullable=False))
    op.create_table(
        'watch_progress',
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('video_id', sa.Integer(), sa.ForeignKey('videos.id', ondelete='CASCADE'), nullable=False),
        sa.Column('position', sa.Float(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('watching_since', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('counted_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('user_id', 'video_id'),
    )
    op.create_index('ix_watch_progress_user_updated', 'watch_progress', ['user_id', 'updated_at'])
    op.create_index('ix_watch_progress_video', 'watch_progress', ['video_id'])
    op.create_table(
        'video_views',
        sa.Column('id', sa.BigInteger(), primary_key=True),
        sa.Column('video_id', sa.Integer(), sa.ForeignKey('videos.id', ondelete='CASCADE'), nullable=False),
        sa.Column('viewed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    )
    op.create_index('ix_video_views_video', 'video_views', ['video_id'])


def downgrade() -> None:
    op.drop_table('video_views')
    op.drop_table('watch_progress')
    op.drop_column('videos', 'views')
