"""The e-mail provider contract and the built-in sandbox mailbox.

A provider receives rendered messages in chunks. ``in_transaction`` providers (the sandbox) write inside the
same database transaction that marks the messages sent, so a crash can neither lose nor repeat them. Other
providers are called between two transactions; a message whose send was interrupted is never resent blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, insert

from tidings.store.tables import mailbox


@dataclass(frozen=True)
class OutboundEmail:
    message_id: int
    idempotency_key: str
    sender: str
    reply_to: str | None
    recipient: str
    subject: str
    body_html: str


@dataclass(frozen=True)
class SendResult:
    message_id: int
    ok: bool
    provider_message_id: str | None = None
    error: str | None = None
    transient: bool = False


class EmailProvider(Protocol):
    name: str
    in_transaction: bool

    def send(self, conn: Connection | None, batch: Sequence[OutboundEmail], now: datetime) -> list[SendResult]:
        """Send one chunk. A failure of one message is a result, never an exception."""
        ...


class SandboxProvider:
    """The default: messages land in the built-in mailbox (`GET /api/v1/mailbox`)."""

    name = "sandbox"
    in_transaction = True

    def send(self, conn: Connection | None, batch: Sequence[OutboundEmail], now: datetime) -> list[SendResult]:
        assert conn is not None, "the sandbox writes inside the delivery transaction"
        if batch:
            conn.execute(
                insert(mailbox),
                [
                    {
                        "message_id": m.message_id,
                        "recipient": m.recipient,
                        "sender": m.sender,
                        "subject": m.subject,
                        "body_html": m.body_html,
                        "received_at": now,
                    }
                    for m in batch
                ],
            )
        return [SendResult(m.message_id, True, provider_message_id=m.idempotency_key) for m in batch]
