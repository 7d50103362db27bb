"""Statements on push tokens: one row per device token, owned by one customer at a time (spec 7: the contact
API's ``type: push``). A token is unique: registering it for another customer moves it there (the device
changed hands, or the app was logged in with another account)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Select, select, update

from tidings.core.dialect import Dialect
from tidings.model.subscriptions import PushContactIn
from tidings.store.tables import push_tokens


def register_token(dialect: Dialect, customer_id: int, contact: PushContactIn, now: datetime) -> Insert:
    """Insert the token, or give the existing one to ``customer_id`` with the new platform and device, active
    again; its ``created_at`` stays the first registration."""
    return dialect.upsert(push_tokens, ["token"], ["customer_id", "platform", "device", "active"]).values(
        customer_id=customer_id,
        token=contact.token,
        platform=contact.platform,
        device=contact.device,
        active=True,
        created_at=now,
    )


def get_token(token: str) -> Select[Any]:
    return select(push_tokens).where(push_tokens.c.token == token)


def lock_token(token: str) -> Select[Any]:
    """The token's row, locked for this transaction."""
    return get_token(token).with_for_update()


def tokens_of(customer_id: int) -> Select[Any]:
    return select(push_tokens).where(push_tokens.c.customer_id == customer_id).order_by(push_tokens.c.id)


def deactivate_tokens(conn: Connection, dialect: Dialect, held: Sequence[tuple[int, str]]) -> int:
    """Each (customer id, token) pair's token stops receiving pushes, if that customer holds it; returns how many
    did."""
    pairs = dialect.rows("held_tokens", [push_tokens.c.customer_id, push_tokens.c.token], held)
    statement = (
        update(push_tokens)
        .where(pairs.match(push_tokens.c.token, "token"), push_tokens.c.customer_id == pairs["customer_id"])
        .values(active=False)
    )
    return pairs.write(conn, statement)
