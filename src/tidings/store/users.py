"""Statements on users (the people who run Tidings) and on a customer's responsible manager (D8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Select, Update, func, select, update

from tidings.core.dialect import Dialect
from tidings.model.users import UserIn
from tidings.store.tables import customers, journey_state, users


def insert_user(dialect: Dialect, user: UserIn, password_hash: str | None, now: datetime) -> Insert:
    """Create ``user`` unless the e-mail is taken (then nothing happens: rowcount 0)."""
    return dialect.insert_ignoring_conflicts(users, ["email"]).values(
        email=user.email,
        name=user.name,
        role=user.role,
        manager=user.manager,
        password_hash=password_hash,
        created_at=now,
    )


def update_user(user_id: int, values: dict[str, Any]) -> Update:
    """Set ``values`` (column → value) on one user."""
    return update(users).where(users.c.id == user_id).values(**values)


def get_user(user_id: int) -> Select[Any]:
    return select(users).where(users.c.id == user_id)


def get_user_by_email(email: str) -> Select[Any]:
    return select(users).where(users.c.email == email)


def count_other_active_admins(user_id: int) -> Select[Any]:
    """Active admins other than ``user_id``."""
    return select(func.count()).where(users.c.role == "admin", users.c.active.is_(True), users.c.id != user_id)


def list_users(*, role: str | None, limit: int, offset: int) -> Select[Any]:
    query = select(users).order_by(users.c.id).limit(limit).offset(offset)
    return query.where(users.c.role == role) if role is not None else query


def count_users(*, role: str | None) -> Select[Any]:
    query = select(func.count()).select_from(users)
    return query.where(users.c.role == role) if role is not None else query


def set_manager(customer_id: int, user_id: int | None) -> Update:
    return update(customers).where(customers.c.id == customer_id).values(manager_id=user_id)


# -- a note's recipient (Notify manager, D8): scalar subqueries on each ``journey_state`` row's customer --------
def email_of(user_id: int) -> ColumnElement[Any]:
    """The e-mail address of one user (NULL when the user is gone)."""
    return select(users.c.email).where(users.c.id == user_id).scalar_subquery()


def responsible_manager_email() -> ColumnElement[Any]:
    """The address of the row's customer's responsible manager (``customers.manager_id``, any role), or NULL."""
    return (
        select(users.c.email)
        .join(customers, customers.c.manager_id == users.c.id)
        .where(customers.c.id == journey_state.c.customer_id)
        .scalar_subquery()
    )


def round_robin_manager_email() -> ColumnElement[Any]:
    """An active user marked as a manager, picked by the row's customer id: the managers in id order, the customer id
    modulo their number (the same customer always reaches the same manager). NULL when there is no manager."""
    managers = select(users.c.email, (func.row_number().over(order_by=users.c.id) - 1).label("turn"))
    is_manager = users.c.manager.is_(True) & users.c.active.is_(True)
    ranked = managers.where(is_manager).subquery("ranked")
    count = select(func.count()).select_from(users).where(is_manager).scalar_subquery()
    return (
        select(ranked.c.email)
        .where(ranked.c.turn == journey_state.c.customer_id % func.nullif(count, 0))
        .scalar_subquery()
    )
