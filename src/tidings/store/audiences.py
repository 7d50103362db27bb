"""Statements on audiences (static named lists of customers) and their members."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, delete, func, insert, literal, select, update

from tidings.core.dialect import Dialect
from tidings.store.tables import audience_members, audiences, customers

am = audience_members


def _size() -> Any:
    return select(func.count()).where(am.c.audience_id == audiences.c.id).scalar_subquery().label("size")


def insert_audience(*, name: str, now: datetime) -> Insert:
    return insert(audiences).values(name=name, created_at=now, updated_at=now)


def insert_missing_audiences(dialect: Dialect) -> Insert:
    """Create audiences by name unless they exist (executed with one parameter set per name)."""
    return dialect.insert_ignoring_conflicts(audiences, ["name"])


def ids_by_name(names: Collection[str]) -> Select[Any]:
    return select(audiences.c.name, audiences.c.id).where(audiences.c.name.in_(set(names)))


def get_audience(audience_id: int) -> Select[Any]:
    return select(audiences, _size()).where(audiences.c.id == audience_id)


def list_audiences(*, limit: int, offset: int) -> Select[Any]:
    return select(audiences, _size()).order_by(audiences.c.id).limit(limit).offset(offset)


def count_audiences() -> Select[Any]:
    return select(func.count()).select_from(audiences)


def rename_audience(audience_id: int, *, name: str, now: datetime) -> Update:
    return update(audiences).where(audiences.c.id == audience_id).values(name=name, updated_at=now)


def touch_audiences(audience_ids: Collection[int], *, now: datetime) -> Update:
    """Membership changed: the audiences' ``updated_at`` moves."""
    return update(audiences).where(audiences.c.id.in_(set(audience_ids))).values(updated_at=now)


def delete_audience(audience_id: int) -> Delete:
    return delete(audiences).where(audiences.c.id == audience_id)


# -- members -------------------------------------------------------------------------------------------
def add_members(dialect: Dialect, audience_id: int, external_ids: Collection[str], *, now: datetime) -> Insert:
    """The named customers join the audience in one ``INSERT … SELECT``; members already in it are left as
    they are (the statement's row count is the number of newcomers)."""
    rows = select(literal(audience_id), customers.c.id, literal(now, am.c.added_at.type)).where(
        customers.c.external_id.in_(set(external_ids))
    )
    statement = dialect.insert_ignoring_conflicts(am, ["audience_id", "customer_id"])
    return statement.from_select(["audience_id", "customer_id", "added_at"], rows)


def remove_members(audience_id: int, external_ids: Collection[str]) -> Delete:
    named = select(customers.c.id).where(customers.c.external_id.in_(set(external_ids)))
    return delete(am).where(am.c.audience_id == audience_id, am.c.customer_id.in_(named.scalar_subquery()))


def count_members(audience_id: int) -> Select[Any]:
    return select(func.count()).select_from(am).where(am.c.audience_id == audience_id)


def members_page(audience_id: int, *, limit: int, offset: int) -> Select[Any]:
    return (
        select(customers.c.external_id, am.c.added_at)
        .join(customers, customers.c.id == am.c.customer_id)
        .where(am.c.audience_id == audience_id)
        .order_by(am.c.customer_id)
        .limit(limit)
        .offset(offset)
    )


def known_external_ids(external_ids: Collection[str]) -> Select[Any]:
    return select(customers.c.external_id).where(customers.c.external_id.in_(set(external_ids)))
