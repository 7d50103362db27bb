"""Users, passwords, sessions and API keys: the use-cases the API and the command line share.

Passwords are hashed with Argon2id by ``pwdlib``. Session and key tokens are 256-bit random strings, so the tables
keep their SHA-256 (a slow hash would add nothing to a token nobody can guess, and would cost every request).
Sign-in failures are counted in the database, so every API process sees the same count: an account is throttled
after ``ACCOUNT_FAILURES`` failures within ``WINDOW``, an address after ``ADDRESS_FAILURES``. Time is the wall
clock given (sessions and throttling are about real time, even while the campaign clock is simulated).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Connection, RowMapping

from tidings.core.clock import Clock
from tidings.core.errors import Conflict, TooManyAttempts, Unauthenticated
from tidings.model.users import Area, Role, UserIn, role_may, scope_of
from tidings.store import access as access_sql
from tidings.store import users as user_sql
from tidings.store.database import Database

WINDOW = timedelta(minutes=15)
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 30
#: API keys start with this, so a key pasted somewhere it should not be is recognisable (and scannable).
KEY_PREFIX = "tdk_"
#: Characters of a key shown in lists to tell keys apart (the prefix and the first random characters).
SHOWN = 12


def password_hasher(*, time_cost: int = 3, memory_kib: int = 65_536, parallelism: int = 4) -> PasswordHash:
    """Argon2id with these parameters; the defaults are argon2-cffi's, as ``PasswordHash.recommended()``."""
    return PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism),))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user (by session cookie) or an integration (by API key)."""

    kind: Literal["user", "key"]
    id: int
    name: str
    role: Role | None = None  # users only
    scopes: frozenset[str] = field(default_factory=frozenset)  # keys only
    csrf_token: str | None = None  # sessions only

    def may(self, area: Area, *, write: bool) -> bool:
        if self.kind == "user":
            assert self.role is not None
            return role_may(self.role, area, write=write)
        return scope_of(area, write=write) in self.scopes


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value: shown to the browser once, stored hashed
    principal: Principal
    expires_at: datetime


class Accounts:
    def __init__(
        self, db: Database, wall: Clock, session_lifetime: timedelta, hasher: PasswordHash | None = None
    ) -> None:
        self.db = db
        self.wall = wall
        self.session_lifetime = session_lifetime
        self.hasher = hasher or password_hasher()

    def hash_password(self, password: str) -> str:
        return self.hasher.hash(password)

    @functools.cached_property
    def _nobody(self) -> str:
        """Verified against when the e-mail is unknown, so an unknown account takes as long to refuse as a known
        one (hashed with the same parameters)."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    # -- users ------------------------------------------------------------------------------------------------
    def create_user(self, conn: Connection, user: UserIn) -> RowMapping:
        """Create a user; an e-mail already taken is refused (409)."""
        password_hash = self.hash_password(user.password) if user.password is not None else None
        inserted = conn.execute(user_sql.insert_user(self.db.dialect, user, password_hash, self.wall.now()))
        row = conn.execute(user_sql.get_user_by_email(user.email)).mappings().one()
        if not inserted.rowcount:
            raise Conflict(
                f"a user with e-mail {user.email!r} exists already (id {row['id']})",
                details={"email": user.email, "id": row["id"]},
            )
        return row

    def update_user(self, conn: Connection, user_id: int, values: dict[str, Any]) -> None:
        """Change a user (``password`` in plain text is hashed); deactivating one ends their sessions. The last
        active admin stays one (409): nobody could manage users and keys any more."""
        demoted = values.get("role", "admin") != "admin" or values.get("active") is False
        if demoted and not conn.execute(user_sql.count_other_active_admins(user_id)).scalar_one():
            current = conn.execute(user_sql.get_user(user_id)).mappings().one()
            if current["role"] == "admin" and current["active"]:
                raise Conflict("this is the last active admin; make another user an admin first", {"id": user_id})
        if values.get("password") is not None:
            values = {**values, "password_hash": self.hash_password(values["password"])}
        values.pop("password", None)
        if values:
            conn.execute(user_sql.update_user(user_id, values))
        if values.get("active") is False or "password_hash" in values:
            conn.execute(access_sql.delete_sessions_of(user_id))

    # -- sessions ---------------------------------------------------------------------------------------------
    def sign_in(self, email: str, password: str, address: str) -> Session:
        """Open a session for the user with this e-mail and password, unless this account or this address has
        failed too often lately (429). A wrong e-mail and a wrong password are refused alike (401)."""
        email = email.strip().lower()
        now = self.wall.now()
        with self.db.engine.begin() as conn:
            conn.execute(access_sql.prune_failures(now - WINDOW))
            counts = conn.execute(access_sql.failures_since(now - WINDOW, email=email, address=address)).one()
        if counts.by_email >= ACCOUNT_FAILURES or counts.by_address >= ADDRESS_FAILURES:
            minutes = int(WINDOW.total_seconds() // 60)
            raise TooManyAttempts(
                f"too many failed sign-ins; try again in {minutes} minutes",
                details={"retry_after_seconds": int(WINDOW.total_seconds())},
            )
        with self.db.engine.connect() as conn:
            user = conn.execute(user_sql.get_user_by_email(email)).mappings().first()
        stored = user["password_hash"] if user is not None and user["active"] else None
        valid = self.hasher.verify(password, stored or self._nobody)
        if user is None or stored is None or not valid:
            with self.db.engine.begin() as conn:  # committed before refusing
                conn.execute(access_sql.insert_failure(email, address, now))
            raise Unauthenticated("the e-mail or the password is wrong")
        with self.db.engine.begin() as conn:
            conn.execute(access_sql.forget_failures(email))
            conn.execute(access_sql.delete_expired_sessions(now))
            return self.open_session(conn, user)

    def open_session(self, conn: Connection, user: RowMapping) -> Session:
        """A new session for ``user`` (already authenticated)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.wall.now()
        expires_at = now + self.session_lifetime
        conn.execute(access_sql.insert_session(digest(token), user["id"], csrf, now, expires_at))
        principal = Principal("user", user["id"], user["name"], role=user["role"], csrf_token=csrf)
        return Session(token, principal, expires_at)

    def session(self, token: str) -> Principal | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(access_sql.live_session(digest(token), self.wall.now())).mappings().first()
        if row is None:
            return None
        return Principal("user", row["id"], row["name"], role=row["role"], csrf_token=row["csrf_token"])

    def sign_out(self, token: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(access_sql.delete_session(digest(token)))

    # -- API keys ---------------------------------------------------------------------------------------------
    def create_key(self, conn: Connection, name: str, scopes: list[str], created_by: int | None) -> tuple[int, str]:
        """A new key: its id and the key itself, which is never stored and cannot be shown again."""
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        inserted = conn.execute(
            access_sql.insert_key(
                name=name,
                prefix=token[:SHOWN],
                key_hash=digest(token),
                scopes=sorted(set(scopes)),
                created_by=created_by,
                now=self.wall.now(),
            )
        )
        return int(inserted.scalar_one()), token

    def key(self, token: str) -> Principal | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(access_sql.live_key(digest(token))).mappings().first()
        if row is None:
            return None
        return Principal("key", row["id"], row["name"], scopes=frozenset(row["scopes"]))

    def revoke_key(self, conn: Connection, key_id: int) -> None:
        conn.execute(access_sql.revoke_key(key_id, self.wall.now()))
