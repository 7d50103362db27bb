"""Loading the catalog that campaign documents and conditions are validated against."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, select

from tidings.model.catalog import Catalog
from tidings.model.conditions import FieldType
from tidings.store.tables import audiences, custom_fields, mailing_categories, segments


def load_catalog(conn: Connection) -> Catalog:
    fields: dict[str, Any] = dict(conn.execute(select(custom_fields.c.code, custom_fields.c.type)).all())
    return Catalog(
        custom_fields=cast(dict[str, FieldType], fields),
        segments=frozenset(conn.execute(select(segments.c.id)).scalars()),
        audiences=frozenset(conn.execute(select(audiences.c.id)).scalars()),
        categories=frozenset(conn.execute(select(mailing_categories.c.code)).scalars()),
    )
