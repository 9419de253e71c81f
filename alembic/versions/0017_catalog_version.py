"""The catalog's version as one counter a trigger moves, instead of a scan of every watchable row per request.

The catalog's page cache is keyed by a version of the set of watchable videos. It was `count(*)` and
`sum(xmin)` over them, read on every catalog request: at 100 000 videos ~20 ms, most of a page's time. Now a
row trigger bumps `catalog_state.version` in the same transaction as any change that shows in the catalog
(an insert or delete, or an update of what items carry), so readers see it move exactly when the change
commits. Progress updates of a running job (progress, progress_detail) do not move it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 17:30:00.000000
"""

from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

#: the columns catalog items show or filter on
SHOWN = ("title", "description", "category", "status", "duration", "renditions", "hls_path", "views", "created_at")


def upgrade() -> None:
    op.execute(
        "CREATE TABLE catalog_state (id boolean PRIMARY KEY DEFAULT true CHECK (id),"
        " version bigint NOT NULL DEFAULT 0)"
    )
    op.execute("INSERT INTO catalog_state (id, version) VALUES (true, 0)")
    op.execute(
        "CREATE FUNCTION videoflix_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN UPDATE catalog_state SET version = version + 1; RETURN NULL; END $$"
    )
    changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in SHOWN)
    op.execute(
        "CREATE TRIGGER videos_catalog_changed AFTER UPDATE ON videos FOR EACH ROW"
        f" WHEN ({changed}) EXECUTE FUNCTION videoflix_catalog_changed()"
    )
    op.execute(
        "CREATE TRIGGER videos_catalog_added_or_removed AFTER INSERT OR DELETE ON videos"
        " FOR EACH STATEMENT EXECUTE FUNCTION videoflix_catalog_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER videos_catalog_added_or_removed ON videos")
    op.execute("DROP TRIGGER videos_catalog_changed ON videos")
    op.execute("DROP FUNCTION videoflix_catalog_changed()")
    op.execute("DROP TABLE catalog_state")
