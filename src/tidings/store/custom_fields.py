"""Statements on declared custom fields (the types of ``customers.attributes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Insert, Select, Update, func, select

from tidings.core.dialect import Dialect
from tidings.model.conditions import FieldType
from tidings.model.custom_fields import CustomFieldIn
from tidings.store.tables import custom_fields


def declared_types(conn: Connection) -> dict[str, FieldType]:
    """Every declared code with its type: what customer attributes are checked against."""
    found: dict[str, Any] = dict(conn.execute(select(custom_fields.c.code, custom_fields.c.type)).all())
    return cast(dict[str, FieldType], found)


def declared_names(conn: Connection) -> dict[str, str]:
    """Every declared code with the name marketers see (the condition builder's words for it)."""
    return {code: name for code, name in conn.execute(select(custom_fields.c.code, custom_fields.c.name))}


def get_field(code: str) -> Select[Any]:
    return select(custom_fields).where(custom_fields.c.code == code)


def list_fields(*, limit: int, offset: int) -> Select[Any]:
    return select(custom_fields).order_by(custom_fields.c.code).limit(limit).offset(offset)


def count_fields() -> Select[Any]:
    return select(func.count()).select_from(custom_fields)


def insert_field(dialect: Dialect, field: CustomFieldIn, now: datetime) -> Insert:
    """Declare ``field`` unless its code is declared already (then nothing happens: rowcount 0)."""
    return dialect.insert_ignoring_conflicts(custom_fields, ["code"]).values(
        code=field.code, name=field.name, type=field.type, created_at=now
    )


def rename_field(code: str, name: str) -> Update:
    return custom_fields.update().where(custom_fields.c.code == code).values(name=name)
