"""Playback sessions: one login session watching one film, renewed while it plays; the screens of an account.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 14:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playback_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("auth_session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playback_sessions")),
        sa.ForeignKeyConstraint(["auth_session_id"], ["auth_sessions.id"],
                                name=op.f("fk_playback_sessions_auth_session_id_auth_sessions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_playback_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_playback_sessions_video_id_videos"),
                                ondelete="CASCADE"),
        sa.UniqueConstraint("auth_session_id", "video_id", name=op.f("uq_playback_sessions_auth_session_id")),
    )  # fmt: skip
    op.create_index("ix_playback_sessions_user_seen", "playback_sessions", ["user_id", "seen_at"], unique=False)
    op.create_index("ix_playback_sessions_video", "playback_sessions", ["video_id"], unique=False)


def downgrade() -> None:
    op.drop_table("playback_sessions")
