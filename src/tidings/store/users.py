"""Statements on users (the people who run Tidings) and on a customer's responsible manager (D8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Insert, Select, Update, func, select, update

from tidings.core.dialect import Dialect
from tidings.model.subscriptions import UserIn
from tidings.store.tables import customers, journey_state, users


def insert_user(dialect: Dialect, user: UserIn, now: datetime) -> Insert:
    """Create ``user`` unless the e-mail is taken (then nothing happens: rowcount 0)."""
    return dialect.insert_ignoring_conflicts(users, ["email"]).values(
        email=user.email, name=user.name, role=user.role, created_at=now
    )


def get_user(user_id: int) -> Select[Any]:
    return select(users).where(users.c.id == user_id)


def get_user_by_email(email: str) -> Select[Any]:
    return select(users).where(users.c.email == email)


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
    """A user with the manager role picked by the row's customer id: the managers in id order, the customer id
    modulo their number (the same customer always reaches the same manager). NULL when there is no manager."""
    managers = select(users.c.email, (func.row_number().over(order_by=users.c.id) - 1).label("turn"))
    ranked = managers.where(users.c.role == "manager").subquery("ranked")
    count = select(func.count()).select_from(users).where(users.c.role == "manager").scalar_subquery()
    return (
        select(ranked.c.email)
        .where(ranked.c.turn == journey_state.c.customer_id % func.nullif(count, 0))
        .scalar_subquery()
    )
