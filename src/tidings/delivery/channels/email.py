"""E-mail: the ``send_email`` and ``notify_manager`` nodes' ``EmailContent``, composed into an ``OutboundEmail`` and
sent through the sandbox (the built-in mailbox) or SMTP (``TIDINGS_EMAIL_PROVIDER=smtp``, ``delivery.smtp``).

What is sent, and stored on the message, is the tracked HTML: links rewritten and an open pixel added (when the node
counts opens and the mail has another image: ``delivery.tracking``), except in an internal note
(``DeliveryRules.internal``), which is never tracked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tidings.core.delivery import EmailContent
from tidings.delivery.channels.route import Chunk, Claimed, Compose, Route
from tidings.delivery.providers import ChannelProvider, Outbound, SandboxProvider, Transaction
from tidings.settings import Settings
from tidings.store import messages as message_sql


@dataclass(frozen=True)
class OutboundEmail(Outbound):
    sender: str
    reply_to: str | None
    recipient: str
    subject: str
    body_html: str
    internal: bool = False  # a note to a user about a customer (Notify manager): no unsubscribe headers
    campaign_id: int = 0
    node_id: str = ""
    category: str | None = None  # the mailing category; its List-Id is the category's rather than the campaign's

    def stored(self) -> tuple[str | None, str]:
        return self.subject, self.body_html


class EmailRoute(Route[EmailContent, OutboundEmail]):
    content = EmailContent

    def __init__(self, settings: Settings) -> None:
        super().__init__(_provider(settings), settings.email_rate_limit)

    def composer(self, chunk: Chunk) -> Compose[EmailContent, OutboundEmail]:
        account = chunk.account

        def compose(content: EmailContent, message: Claimed) -> OutboundEmail:
            body = message.render(content.body_html)
            if not message.internal:
                body = chunk.tracker.track(body, message.message_id, content.utm, pixel=content.track_opens)
            name = content.sender_name or account.email_from_name
            address = content.sender_email or account.email_from
            return OutboundEmail(
                message_id=message.message_id,
                idempotency_key=message.idempotency_key,
                sender=f"{name} <{address}>",
                reply_to=content.reply_to,
                recipient=message.recipient,
                subject=message.render(content.subject),
                body_html=body,
                internal=message.internal,
                campaign_id=message.campaign_id,
                node_id=message.node_id,
                category=content.category,
            )

        return compose


def _provider(settings: Settings) -> ChannelProvider[OutboundEmail]:
    if settings.email_provider == "smtp":
        from tidings.delivery.smtp import SmtpProvider  # aiosmtplib is loaded only by a process that uses it

        return SmtpProvider(settings)
    return SandboxProvider("email", _to_mailbox)


def _to_mailbox(transaction: Transaction, emails: Sequence[OutboundEmail], now: datetime) -> None:
    """The sandbox's e-mails land in the built-in mailbox (`GET /api/v1/mailbox`)."""
    received = [message_sql.Received(m.message_id, m.recipient, m.sender, m.subject, m.body_html, now) for m in emails]
    message_sql.insert_mailbox(transaction.conn, transaction.dialect, received)
