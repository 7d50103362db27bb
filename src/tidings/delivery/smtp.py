"""Delivery through an SMTP relay: a few connections per chunk, one MIME message per recipient.

The provider runs outside the pipeline's transactions. It sends over up to ``TIDINGS_SMTP_CONNECTIONS``
connections (opened as the chunk needs them, reused for the whole chunk), each carrying one message at a time,
from as many sending tasks; a task takes its next message from the outbox only after the result of its last was
handed on, so the pipeline has recorded that ``250`` first. A crash therefore leaves at most one message per
connection in doubt (with one connection, the one message in flight). Every message carries a ``Message-ID``
derived from its idempotency key; a message in doubt is resent with the same one, which lets a receiver drop
the duplicate (see ``delivery.pipeline``).

Failures are results, never exceptions: a recipient, sender or content refused with a 5xx reply fails that one
message for good; a 4xx reply is transient (the pipeline retries later), and so is 530 (the relay wants STARTTLS
or a login first: a configuration to fix, not a message to give up on); a connection that cannot be opened or
is lost fails every message of the chunk not yet sent as transient.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator
from datetime import datetime
from urllib.parse import quote

from aiosmtplib import SMTP, SMTPException, SMTPHeloError, SMTPNotSupported, SMTPResponseException

from tidings.core.delivery import Channel
from tidings.delivery.channels.email import OutboundEmail
from tidings.delivery.dkim import DkimSigner
from tidings.delivery.mime import BulkHeaders, Email, Mailbox, address, sender_mailbox
from tidings.delivery.plain_text import html_to_text
from tidings.delivery.providers import Outbox, SendResult, in_parallel
from tidings.delivery.tracking import Tracker
from tidings.settings import Settings

TIMEOUT_SECONDS = 30.0


class _ConnectionLost(Exception):
    """The SMTP session can no longer be used; the rest of the chunk is transient."""


class SmtpProvider:
    """Sends each chunk over up to ``TIDINGS_SMTP_CONNECTIONS`` connections to ``TIDINGS_SMTP_HOST:PORT``."""

    name = "smtp"
    channel: Channel = "email"
    transactional = False

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username or None
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.implicit_tls = settings.smtp_implicit_tls
        self.ca_file = settings.smtp_ca_file
        self.concurrency = settings.smtp_connections
        self.tracker = Tracker.from_settings(settings)
        self.dkim = DkimSigner.from_settings(settings)

    async def send(self, outbox: Outbox[OutboundEmail]) -> AsyncGenerator[SendResult, None]:
        sessions = _Sessions(self)

        async def send_one(message: OutboundEmail) -> SendResult:
            return await sessions.send(message, outbox.now)

        try:
            async for result in in_parallel(outbox, self.concurrency, send_one):
                yield result
        finally:
            await sessions.close()

    def client(self) -> SMTP:
        """A new, unconnected client for the relay."""
        return SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            use_tls=self.implicit_tls,
            cert_bundle=self.ca_file,
            timeout=TIMEOUT_SECONDS,
        )

    # -- the SMTP session --------------------------------------------------------------------------------------

    async def _send_one(self, client: SMTP, message: OutboundEmail, now: datetime) -> SendResult:
        try:
            email = self.build(message, now)
            payload = self.dkim.sign(email.to_bytes(), email.sender.domain_ascii)
        except Exception as error:  # a malformed address or header fails this message only
            return SendResult(message.message_id, False, error=f"cannot build the message: {error}")
        message_id = email.message_id
        try:
            await _transaction(client, email, payload)
        except SMTPResponseException as error:  # sender, recipient or content refused; 421 also closes the session
            return _refusal(message, error.code, error.message)
        except ValueError as error:  # an address aiosmtplib will not put on a command line
            return SendResult(message.message_id, False, error=f"invalid address: {error}")
        except (SMTPException, OSError) as error:
            if client.is_connected and not isinstance(error, (TimeoutError, ConnectionError)):
                # e.g. SMTPNotSupported: an internationalised address the relay does not accept
                return SendResult(message.message_id, False, error=_describe(error))
            raise _ConnectionLost(_describe(error)) from error
        except Exception as error:  # unknown state of the session: stop using it
            raise _ConnectionLost(_describe(error)) from error
        return SendResult(
            message.message_id,
            True,
            provider_message_id=message_id if len(message_id) <= 200 else message.idempotency_key,
        )

    # -- the message -------------------------------------------------------------------------------------------

    def build(self, message: OutboundEmail, now: datetime) -> Email:
        """The MIME message of one outbound e-mail; raises ``InvalidAddress`` for a malformed address."""
        sender = sender_mailbox(message.sender)
        domain = sender.domain_ascii
        bulk = None
        if not message.internal:
            key = quote(message.idempotency_key, safe="")
            mailto = f"mailto:{quote(sender.addr_spec, safe='@')}?subject=unsubscribe%20{key}"
            scope = f"category-{message.category}" if message.category else f"campaign-{message.campaign_id}"
            bulk = BulkHeaders(
                list_id=f"<{_list_label(scope)}.{domain}>",
                list_unsubscribe=f"<{mailto}>, <{self.tracker.unsubscribe_url(message.message_id)}>",
                feedback_id=f"{message.campaign_id}:{_list_label(message.node_id)}:email:tidings",
            )
        return Email(
            sender=sender,
            recipient=Mailbox("", address(message.recipient)),
            reply_to=sender_mailbox(message.reply_to) if message.reply_to else None,
            subject=message.subject,
            date=now,
            message_id=f"<{message.idempotency_key}@{domain}>",
            bulk=bulk,
            text=html_to_text(message.body_html),
            html=message.body_html,
        )


def _list_label(text: str) -> str:
    """``text`` as a dot-atom label of a List-Id or Feedback-ID (letters, digits, hyphens, underscores)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "x"


async def _transaction(client: SMTP, email: Email, payload: bytes) -> None:
    """MAIL, RCPT and DATA for one message and one recipient (``SMTP.sendmail`` would parse both addresses twice
    more, a tenth of a worker's CPU); after a refusal, RSET clears the envelope for the connection's next message."""
    utf8 = email.needs_smtputf8
    if utf8 and not client.supports_extension("smtputf8"):
        raise SMTPNotSupported("the relay does not accept internationalised addresses (no SMTPUTF8)")
    encoding = "utf-8" if utf8 else "ascii"
    options = ["SMTPUTF8"] if utf8 else []
    if client.supports_extension("size"):
        options.append(f"SIZE={len(payload)}")
    await client.mail(email.sender.addr_spec, options=options, encoding=encoding)
    try:
        await client.rcpt(email.recipient.addr_spec, encoding=encoding)
        await client.data(payload)
    except Exception:  # a refusal, or an address aiosmtplib will not put on a command line: clear the envelope
        if client.is_connected:
            with contextlib.suppress(SMTPException, OSError):  # a dead session: the next send says so
                await client.rset()
        raise


class _Sessions:
    """The SMTP sessions of one chunk: opened as messages need them (at most one per sending task), each carrying
    one message at a time. A session that cannot be opened or is lost breaks the chunk: every message after it
    fails as transient at once, with the reason, and is retried later."""

    def __init__(self, provider: SmtpProvider) -> None:
        self.provider = provider
        self.idle: list[SMTP] = []
        self.opened: list[SMTP] = []
        self.broken: str | None = None

    async def send(self, message: OutboundEmail, now: datetime) -> SendResult:
        client = await self._session()
        if client is None:
            return SendResult(message.message_id, False, error=self.broken, transient=True)
        try:
            result = await self.provider._send_one(client, message, now)
        except _ConnectionLost as lost:
            self.broken = self.broken or f"connection to {self._where} lost: {lost}"
            client.close()
            return SendResult(message.message_id, False, error=self.broken, transient=True)
        if client.is_connected:
            self.idle.append(client)
        else:  # the relay closed it after answering (421, or a limit of messages per connection): open another
            client.close()
        return result

    async def _session(self) -> SMTP | None:
        if self.broken is not None:
            return None
        if self.idle:
            return self.idle.pop()
        client = self.provider.client()
        self.opened.append(client)
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:  # no STARTTLS or AUTH made the client greet the relay yet
                try:
                    await client.ehlo()
                except SMTPHeloError:
                    await client.helo()
        except Exception as error:  # refused, timed out, TLS or AUTH failure: nothing was sent, retry later
            client.close()
            self.broken = self.broken or f"cannot connect to {self._where}: {_describe(error)}"
            return None
        return client

    @property
    def _where(self) -> str:
        return f"{self.provider.host}:{self.provider.port}"

    async def close(self) -> None:
        await asyncio.gather(*(_close(client) for client in self.opened))


#: 530: the relay wants STARTTLS or authentication first — our configuration, not the message, so it is retried
#: (after the settings are fixed) instead of failing the whole campaign for good.
_SESSION_REFUSED = 530


def _refusal(message: OutboundEmail, code: int, reply: str) -> SendResult:
    error = f"{code} {reply}".strip()
    if code == _SESSION_REFUSED:
        error += " (check TIDINGS_SMTP_STARTTLS, TIDINGS_SMTP_USERNAME and TIDINGS_SMTP_PASSWORD)"
        return SendResult(message.message_id, False, error=error, transient=True)
    return SendResult(message.message_id, False, error=error, transient=not 500 <= code < 600)


def _describe(error: BaseException) -> str:
    if isinstance(error, SMTPResponseException):
        return f"{error.code} {error.message}"
    return str(error) or type(error).__name__


async def _close(client: SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except (SMTPException, OSError):
        pass
    finally:
        client.close()
