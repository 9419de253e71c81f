"""When each viewer's player last loaded a film's playlist: a view is counted only for playback that did.

Views were counted from progress reports alone, which a script can send without playing anything. Every
serving mode (the app's, nginx's signed links, the store's presigned URLs) hands out playlists through the
app, so "the player loaded this film's playlist" is a signal of real playback each mode sees.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 02:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playback_starts",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("video_id", sa.Integer, sa.ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_playback_starts_video", "playback_starts", ["video_id"])


def downgrade() -> None:
    op.drop_table("playback_starts")
