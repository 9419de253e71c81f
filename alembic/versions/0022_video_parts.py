"""A film's parts are parts everywhere: the plan table `video_chunks` is `video_parts` (the unit was called
both a chunk and a part; the code, the topic `videos.parts` and the settings PART_SECONDS and
PARTS_FROM_SECONDS say part). Its rows, keys and constraints are kept; only names change.

Stop the workers before upgrading (as for every migration): a worker of the earlier release reads the old
table and topic. A plan under way then is resumed by the watchdog from its rows (the topic only carries jobs).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 11:30:00.000000
"""

from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

RENAMED = (("video_chunks", "video_parts"),)


def _rename(old: str, new: str) -> None:
    op.rename_table(old, new)
    op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")
    op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT fk_{old}_video_id_videos TO fk_{new}_video_id_videos")


def upgrade() -> None:
    for old, new in RENAMED:
        _rename(old, new)


def downgrade() -> None:
    for old, new in RENAMED:
        _rename(new, old)
