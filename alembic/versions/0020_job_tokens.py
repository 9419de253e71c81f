"""A video's current job has a random token, which its events carry: only they change the video.

Kafka is not authenticated on every deployment, and a `videos.processed` event could set any video's state (a
forged `ready` event even removed a ready film's outputs). The token is written with the upload event in the
outbox (and anew on a retry); the results agent applies an event only when it carries the row's token, so a
forged event, or a stale one of an earlier attempt, changes nothing.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 03:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("videos", sa.Column("job_token", sa.String(32), nullable=True))
    # finished videos get a token no event carries (events in flight for them are stale); a video still
    # waiting keeps none, so the events already queued for it (which carry none) still apply
    op.execute("UPDATE videos SET job_token = md5(random()::text) WHERE status IN ('ready', 'failed')")


def downgrade() -> None:
    op.drop_column("videos", "job_token")
