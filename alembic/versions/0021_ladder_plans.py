"""A chunked film's plan rows are keyed by ladder too: every ladder of a long film is made in parts.

The H.264 ladder's parts (and the film's sound, part -1) make the film playable and ready; once it is, the
AV1 ladder is made in the same parts over every worker (stream_workers/ladder_parts.py), each row its own
claim. Existing rows are the H.264 ladder's.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 08:15:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("video_chunks", sa.Column("ladder", sa.String(16), nullable=False, server_default="h264"))
    op.drop_constraint("pk_video_chunks", "video_chunks", type_="primary")
    op.create_primary_key("pk_video_chunks", "video_chunks", ["video_id", "ladder", "part"])


def downgrade() -> None:
    op.execute("DELETE FROM video_chunks WHERE ladder <> 'h264'")
    op.drop_constraint("pk_video_chunks", "video_chunks", type_="primary")
    op.drop_column("video_chunks", "ladder")
    op.create_primary_key("pk_video_chunks", "video_chunks", ["video_id", "part"])
