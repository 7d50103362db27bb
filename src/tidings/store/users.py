"""Statements on users (the people who run Tidings) and on a customer's responsible manager (D8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Select, Update, func, select, update

from tidings.core.dialect import Dialect
from tidings.model.subscriptions import UserIn
from tidings.store.tables import customers, users


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


def managers() -> Select[Any]:
    """Ids of the users with the manager role, in a stable order (Notify manager's round-robin, D8)."""
    return select(users.c.id).where(users.c.role == "manager").order_by(users.c.id)


def set_manager(customer_id: int, user_id: int | None) -> Update:
    return update(customers).where(customers.c.id == customer_id).values(manager_id=user_id)
