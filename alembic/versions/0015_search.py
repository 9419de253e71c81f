"""Full-text search of the catalog: title, category and description, accents ignored, in a GIN index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 15:10:00.000000
"""

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # unaccent is a trusted extension (PostgreSQL 13+): the database's owner may create it
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    # unaccent() is STABLE (its dictionary could change); an index needs an IMMUTABLE function, so this one
    # names the dictionary itself (the usual way: the dictionary is fixed for this database)
    op.execute(
        "CREATE FUNCTION videoflix_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT"
        " AS $$ SELECT unaccent('unaccent'::regdictionary, $1) $$"
    )
    # 'simple': no stemming, so any language's words match by their prefix ("adv" finds "Adventure")
    op.execute(
        "ALTER TABLE videos ADD COLUMN search tsvector GENERATED ALWAYS AS ("
        " setweight(to_tsvector('simple', videoflix_unaccent(title)), 'A')"
        " || setweight(to_tsvector('simple', videoflix_unaccent(coalesce(category, ''))), 'B')"
        " || setweight(to_tsvector('simple', videoflix_unaccent(coalesce(description, ''))), 'C')) STORED"
    )
    op.execute("CREATE INDEX ix_videos_search ON videos USING gin (search)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_videos_search")
    op.execute("ALTER TABLE videos DROP COLUMN search")
    op.execute("DROP FUNCTION videoflix_unaccent(text)")
