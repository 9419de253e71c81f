"""Encrypted HLS: each film's key seed and rotation (videoflix.core.hls_keys); the output a playback began on.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 17:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_keys",
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.LargeBinary(32), nullable=False),
        sa.Column("rotation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_video_keys")),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_video_keys_video_id_videos"),
                                ondelete="CASCADE"),
    )  # fmt: skip
    op.add_column("playback_sessions", sa.Column("output", sa.String(500), nullable=True))


def downgrade() -> None:
    op.drop_column("playback_sessions", "output")
    op.drop_table("video_keys")
