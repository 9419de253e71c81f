"""Transcripts: a film's speech as timed paragraphs (videoflix/core/transcripts.py), and its words in catalog
search (weight D, after title, category and description).

`videos.search` is a generated column: its expression changes by dropping and adding it again (with its
index). The catalog's version (migration 0017) moves when the speech changes too, so a cached search page
never hides a film that has just become findable by what is said in it.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

DOCUMENT = (
    "setweight(to_tsvector('simple', videoflix_unaccent(title)), 'A')"
    " || setweight(to_tsvector('simple', videoflix_unaccent(coalesce(category, ''))), 'B')"
    " || setweight(to_tsvector('simple', videoflix_unaccent(coalesce(description, ''))), 'C')"
)
SPEECH = " || setweight(coalesce(speech, ''::tsvector), 'D')"
#: migration 0017's columns, and the speech
SHOWN = ("title", "description", "category", "status", "duration", "renditions", "hls_path", "views", "created_at")


def _search(document: str) -> None:
    op.execute("DROP INDEX ix_videos_search")
    op.execute("ALTER TABLE videos DROP COLUMN search")
    op.execute(f"ALTER TABLE videos ADD COLUMN search tsvector GENERATED ALWAYS AS ({document}) STORED")
    op.execute("CREATE INDEX ix_videos_search ON videos USING gin (search)")


def _trigger(columns: tuple[str, ...]) -> None:
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)
    op.execute("DROP TRIGGER videos_catalog_changed ON videos")
    op.execute(
        "CREATE TRIGGER videos_catalog_changed AFTER UPDATE ON videos FOR EACH ROW"
        f" WHEN ({changed}) EXECUTE FUNCTION videoflix_catalog_changed()"
    )


def upgrade() -> None:
    op.create_table(
        "transcripts",
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("paragraphs", JSONB(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("words", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("video_id", name=op.f("pk_transcripts")),
        sa.ForeignKeyConstraint(["video_id"], ["videos.id"], name=op.f("fk_transcripts_video_id_videos"),
                                ondelete="CASCADE"),
    )  # fmt: skip
    op.add_column("videos", sa.Column("speech", TSVECTOR(), nullable=True))
    _search(DOCUMENT + SPEECH)
    _trigger((*SHOWN, "speech"))


def downgrade() -> None:
    _trigger(SHOWN)
    _search(DOCUMENT)
    op.drop_column("videos", "speech")
    op.drop_table("transcripts")
