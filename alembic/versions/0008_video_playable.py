"""Videos get a `playable` state between processing and ready: progressive HLS, watchable while transcoding.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 03:00:00.000000
"""

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TYPE video_status ADD VALUE IF NOT EXISTS 'playable' BEFORE 'ready'")


def downgrade() -> None:
    # PostgreSQL cannot drop one value of an enum: the type is rebuilt without it
    op.execute("UPDATE videos SET status = 'processing' WHERE status = 'playable'")
    op.execute("ALTER TYPE video_status RENAME TO video_status_old")
    op.execute("CREATE TYPE video_status AS ENUM ('uploaded', 'processing', 'ready', 'failed')")
    op.execute("ALTER TABLE videos ALTER COLUMN status DROP DEFAULT")
    op.execute("ALTER TABLE videos ALTER COLUMN status TYPE video_status USING status::text::video_status")
    op.execute("ALTER TABLE videos ALTER COLUMN status SET DEFAULT 'uploaded'")
    op.execute("DROP TYPE video_status_old")
