"""The people who run Tidings, what they may do, and the integrations' API keys.

A user has one role:

* ``admin`` — everything, including users, API keys and the account's settings;
* ``marketer`` — campaigns, segments, audiences, templates, polls, customers; no users, keys or settings;
* ``analyst`` — reads everything a marketer reads (reports, exports), changes nothing.

Independently, a user may be one of the *managers* Notify manager writes to in turn (D8). A user without a
password (a store manager who only receives notes) cannot sign in.

An API key holds scopes ``<area>:read`` / ``<area>:write`` (e.g. ``customers:write``); users, keys and the
manual clock are for signed-in admins only, never for a key.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Role = Literal["admin", "marketer", "analyst"]
ROLES: tuple[Role, ...] = ("admin", "marketer", "analyst")

#: A password is at least this long (NIST SP 800-63B: length, not composition rules).
MIN_PASSWORD = 12
MAX_PASSWORD = 256

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Area(StrEnum):
    """What a route works on; a role or a key is granted reading or changing each area."""

    customers = "customers"
    events = "events"
    orders = "orders"
    catalog = "catalog"
    campaigns = "campaigns"
    reports = "reports"
    messages = "messages"
    segments = "segments"
    audiences = "audiences"
    categories = "categories"
    polls = "polls"
    templates = "templates"
    webhooks = "webhooks"
    settings = "settings"
    users = "users"
    keys = "keys"
    clock = "clock"


#: Areas only a signed-in admin reaches (never an API key); reading users is also open to marketers, who pick
#: Notify manager's recipients.
ADMIN_ONLY = frozenset({Area.users, Area.keys, Area.clock})


def scope_of(area: Area, *, write: bool) -> str:
    """The API key scope that grants reading or changing ``area``: ``customers:write``."""
    return f"{area.value}:{'write' if write else 'read'}"


#: The scopes an API key may hold: reading or changing each area open to keys.
SCOPES: tuple[str, ...] = tuple(
    scope_of(area, write=write) for area in Area if area not in ADMIN_ONLY for write in (False, True)
)


#: What a marketer changes; an analyst changes nothing, an admin everything.
MARKETER_WRITES = frozenset(
    {
        Area.customers,
        Area.events,
        Area.orders,
        Area.catalog,
        Area.campaigns,
        Area.segments,
        Area.audiences,
        Area.categories,
        Area.polls,
        Area.templates,
    }
)


def role_may(role: Role, area: Area, *, write: bool) -> bool:
    """Whether a user with ``role`` may read (or, with ``write``, change) ``area``."""
    if role == "admin":
        return True
    if write:
        return role == "marketer" and area in MARKETER_WRITES
    return area is not Area.keys and not (area is Area.users and role == "analyst")


def valid_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address (name@example.com)")
    return value.lower()


def valid_password(value: str | None) -> str | None:
    if value is not None and len(value) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    return value


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="User")
    email: str = Field(min_length=3, max_length=320, description="Unique; signs in with it, notes go to it.")
    name: str = Field(min_length=1, max_length=200)
    role: Role = Field(description="admin (everything) | marketer (campaigns and data) | analyst (read-only)")
    manager: bool = Field(default=False, description="Receives Notify manager's notes in turn (D8).")
    password: str | None = Field(
        default=None,
        max_length=MAX_PASSWORD,
        description=f"At least {MIN_PASSWORD} characters; without one the user cannot sign in.",
    )

    _email = field_validator("email")(valid_email)
    _password = field_validator("password")(valid_password)


class UserPatch(BaseModel):
    """Change a user: any of these; an admin deactivates a user (their sessions end) or resets a password."""

    model_config = ConfigDict(extra="forbid", title="User change")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    manager: bool | None = None
    active: bool | None = Field(default=None, description="false: cannot sign in; their sessions end at once.")
    password: str | None = Field(default=None, max_length=MAX_PASSWORD)

    _password = field_validator("password")(valid_password)


class ManagerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Responsible manager")
    user: int | None = Field(ge=1, le=2**63 - 1, description="A user's id; null removes the manager.")


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Sign in")
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


ScopeName = Literal[SCOPES]  # type: ignore[valid-type]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="API key")
    name: str = Field(min_length=1, max_length=200, description="What the integration is, e.g. `Shop backend`.")
    scopes: list[ScopeName] = Field(
        min_length=1, max_length=len(SCOPES), description="What the key may do, e.g. `customers:write`."
    )
