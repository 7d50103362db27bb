"""The loyalty adapter contract: what a request looks like to an adapter, and what it answers.

A request is identified towards the loyalty program by an idempotency key that never changes between attempts:
``tidings:<campaign>:<entry>:<node>:<customer>`` for a request made by a campaign node, ``tidings:request:<id>``
for one made outside any campaign (subscription sync). A request whose outcome is unknown (a timeout, a worker
that died mid-call) is sent again with the same key, and the loyalty program applies it at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

Kind = Literal["bonus", "audience", "subscription"]
Outcome = Literal["done", "failed", "retry"]

#: Longest reason code kept from a provider (the drop reason is ``loyalty:<code>``).
REASON_CHARS = 48


def idempotency_key(
    *, request_id: int, campaign_id: int, entry_id: int | None, node_id: str | None, customer_id: int
) -> str:
    if entry_id is None or node_id is None:
        return f"tidings:request:{request_id}"
    return f"tidings:{campaign_id}:{entry_id}:{node_id}:{customer_id}"


def reason_code(text: str) -> str:
    """A provider's error code as a drop-reason code: lower case, ``[a-z0-9_]``, at most 48 characters."""
    cleaned = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in text.strip().lower())
    return cleaned.strip("_")[:REASON_CHARS] or "error"


@dataclass(frozen=True)
class LoyaltyCall:
    """One request, as an adapter sees it."""

    request_id: int
    kind: str
    idempotency_key: str
    customer_id: int
    customer: str  # the customer's external id: how the loyalty program knows them
    campaign_id: int
    entry_id: int | None
    node_id: str | None
    payload: dict[str, Any]
    created_at: datetime
    attempt: int  # 1 for the first attempt


@dataclass(frozen=True)
class LoyaltyResult:
    """``done``: applied (``response`` is the program's answer). ``failed``: refused for good — ``reason`` is a
    short code (``customer_blocked``, ``http_404``) and ``error`` the program's message. ``retry``: not applied,
    or not known to be (timeouts, 5xx, 429); try again later, after ``retry_after`` seconds if the program said."""

    request_id: int
    outcome: Outcome
    response: dict[str, Any] | None = None
    reason: str | None = None
    error: str | None = None
    retry_after: float | None = None


class LoyaltyAdapter(Protocol):
    #: Adapters that write to our own database (the built-in ledger) run inside the transaction that records
    #: the outcomes, so a crash can neither lose nor repeat their effect; the others are called between two.
    in_transaction: bool
    name: str

    def apply(self, conn: Connection | None, calls: Sequence[LoyaltyCall], now: datetime) -> list[LoyaltyResult]:
        """Carry out one chunk of requests and answer one result per call. A failure of one request is a result,
        never an exception; an exception means the adapter itself is broken (the chunk is retried later)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
