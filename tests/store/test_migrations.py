"""The migrations build exactly the schema that `tables.py` declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tidings.store.database import Database
from tidings.store.tables import metadata


def test_migrated_schema_matches_metadata(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        db.dispose()
    assert differences == []
