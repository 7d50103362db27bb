"""The account's settings every plug-in may read (stored as one row; see ``store.account``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountSettings:
    timezone: str
    delivery_window_start: int
    delivery_window_end: int
    email_from: str
    email_from_name: str
