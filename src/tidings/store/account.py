"""Statements on the account settings (one row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from tidings.core.account import AccountSettings
from tidings.store.tables import account_settings

_FIELDS = ("timezone", "delivery_window_start", "delivery_window_end", "email_from", "email_from_name")


def load_account(conn: Connection) -> AccountSettings:
    row = conn.execute(select(account_settings).where(account_settings.c.id == 1)).mappings().first()
    if row is None:
        conn.execute(insert(account_settings).values(id=1))
        row = conn.execute(select(account_settings).where(account_settings.c.id == 1)).mappings().one()
    return AccountSettings(**{field: row[field] for field in _FIELDS})


def save_account(conn: Connection, values: dict[str, Any]) -> AccountSettings:
    load_account(conn)  # make sure the row exists
    conn.execute(update(account_settings).where(account_settings.c.id == 1).values(**values))
    return load_account(conn)
