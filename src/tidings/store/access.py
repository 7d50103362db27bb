"""Statements on sessions, API keys and failed sign-ins (the use-cases are in ``tidings.accounts``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, delete, func, insert, select, update

from tidings.store.tables import api_keys, sessions, sign_in_failures, users


# -- sessions ---------------------------------------------------------------------------------------------------
def insert_session(token_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime) -> Insert:
    return insert(sessions).values(
        token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, created_at=now, expires_at=expires_at
    )


def live_session(token_hash: str, now: datetime) -> Select[Any]:
    """The session and its user, if the session has not expired and the user is active."""
    return (
        select(sessions.c.csrf_token, sessions.c.expires_at, users.c.id, users.c.email, users.c.name, users.c.role)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now, users.c.active.is_(True))
    )


def delete_session(token_hash: str) -> Delete:
    return delete(sessions).where(sessions.c.token_hash == token_hash)


def delete_sessions_of(user_id: int) -> Delete:
    return delete(sessions).where(sessions.c.user_id == user_id)


def delete_expired_sessions(now: datetime) -> Delete:
    return delete(sessions).where(sessions.c.expires_at <= now)


# -- API keys ---------------------------------------------------------------------------------------------------
def insert_key(
    *, name: str, prefix: str, key_hash: str, scopes: Sequence[str], created_by: int | None, now: datetime
) -> Insert:
    return (
        insert(api_keys)
        .values(name=name, prefix=prefix, key_hash=key_hash, scopes=list(scopes), created_by=created_by, created_at=now)
        .returning(api_keys.c.id)
    )


def live_key(key_hash: str) -> Select[Any]:
    """The key with this hash, unless revoked."""
    return select(api_keys.c.id, api_keys.c.name, api_keys.c.scopes).where(
        api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
    )


KEY_COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.prefix,
    api_keys.c.scopes,
    api_keys.c.created_by,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
)


def get_key(key_id: int) -> Select[Any]:
    return select(*KEY_COLUMNS).where(api_keys.c.id == key_id)


def list_keys(*, limit: int, offset: int) -> Select[Any]:
    return select(*KEY_COLUMNS).order_by(api_keys.c.id).limit(limit).offset(offset)


def count_keys() -> Select[Any]:
    return select(func.count()).select_from(api_keys)


def revoke_key(key_id: int, now: datetime) -> Update:
    """Revoke a key (once: the first revocation's time stays)."""
    return update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)


# -- failed sign-ins --------------------------------------------------------------------------------------------
def insert_failure(email: str, address: str, now: datetime) -> Insert:
    return insert(sign_in_failures).values(email=email, address=address, at=now)


def failures_since(since: datetime, *, email: str, address: str) -> Select[Any]:
    """Failures for this account, and from this address, since ``since``: one row ``(by_email, by_address)``."""
    recent = sign_in_failures.c.at > since
    by_email = select(func.count()).where(sign_in_failures.c.email == email, recent).scalar_subquery()
    by_address = select(func.count()).where(sign_in_failures.c.address == address, recent).scalar_subquery()
    return select(by_email.label("by_email"), by_address.label("by_address"))


def forget_failures(email: str) -> Delete:
    """A successful sign-in clears the account's count (not the address's: one good password does not buy a
    guesser more tries on other accounts)."""
    return delete(sign_in_failures).where(sign_in_failures.c.email == email)


def prune_failures(before: datetime) -> Delete:
    return delete(sign_in_failures).where(sign_in_failures.c.at <= before)
