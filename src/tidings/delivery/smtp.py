"""Delivery through an SMTP relay: one connection per chunk, one MIME message per recipient.

The provider runs outside the pipeline's transactions and sends one message at a time: it takes the next
message from the outbox only after yielding the result of the last, so the pipeline has recorded every ``250``
before the next message goes out and a crash leaves at most the one message in flight in doubt. Every message
carries a ``Message-ID`` derived from its idempotency key; a message in doubt is resent with the same one,
which lets a receiver drop the duplicate (see ``delivery.pipeline``).

Failures are results, never exceptions: a recipient, sender or content refused with a 5xx reply fails that one
message for good; a 4xx reply is transient (the pipeline retries later); a connection that cannot be opened or
is lost fails every message not yet sent as transient.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

from aiosmtplib import SMTP, SMTPException, SMTPRecipientsRefused, SMTPResponseException

from tidings.delivery.providers import Channel, OutboundEmail, Outbox, SendResult
from tidings.delivery.tracking import Tracker
from tidings.settings import Settings

TIMEOUT_SECONDS = 30.0

# Headers written exactly as built (they are ASCII and single-line by construction). The standard folder would
# turn a URL longer than a line into RFC 2047 encoded words, which no mail client reads as a URL.
_VERBATIM_HEADERS = frozenset({"message-id", "list-unsubscribe", "list-unsubscribe-post"})


class _WirePolicy(EmailPolicy):
    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in _VERBATIM_HEADERS:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _WirePolicy(linesep="\r\n")
_WIRE_UTF8 = _WirePolicy(linesep="\r\n", utf8=True)


class _ConnectionLost(Exception):
    """The SMTP session can no longer be used; the rest of the chunk is transient."""


class SmtpProvider:
    """Sends each chunk over one SMTP connection to ``TIDINGS_SMTP_HOST:TIDINGS_SMTP_PORT``."""

    name = "smtp"
    channel: Channel = "email"
    concurrency = 1
    transactional = False

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username or None
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.tracker = Tracker.from_settings(settings)
        host = urlsplit(settings.public_url).hostname or "tidings.invalid"
        self.message_id_domain = f"[{host}]" if ":" in host else host

    async def send(self, outbox: Outbox[OutboundEmail]) -> AsyncIterator[SendResult]:
        first = await outbox.next()
        if first is None:  # nothing to send: no connection
            return
        client = SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=TIMEOUT_SECONDS,
        )
        try:
            await client.connect()
        except Exception as error:  # refused, timed out, TLS or AUTH failure: nothing was sent, retry later
            client.close()
            reason = f"cannot connect to {self.host}:{self.port}: {_describe(error)}"
            yield SendResult(first.message_id, False, error=reason, transient=True)
            async for rest in outbox:
                yield SendResult(rest.message_id, False, error=reason, transient=True)
            return
        try:
            message: OutboundEmail | None = first
            while message is not None:
                try:
                    result = await self._send_one(client, message, outbox.now)
                except _ConnectionLost as lost:
                    reason = f"connection to {self.host}:{self.port} lost: {lost}"
                    yield SendResult(message.message_id, False, error=reason, transient=True)
                    async for rest in outbox:
                        yield SendResult(rest.message_id, False, error=reason, transient=True)
                    return
                yield result
                message = await outbox.next()
        finally:
            await _close(client)

    # -- the SMTP session --------------------------------------------------------------------------------------

    async def _send_one(self, client: SMTP, message: OutboundEmail, now: datetime) -> SendResult:
        try:
            envelope_sender, envelope_recipient, mime = self.build(message, now)
            utf8 = not (envelope_sender + envelope_recipient).isascii()
            payload = _flatten(mime, utf8=utf8)
        except Exception as error:  # a malformed address or header fails this message only
            return SendResult(message.message_id, False, error=f"cannot build the message: {error}")
        message_id = str(mime["Message-ID"])
        try:
            await client.sendmail(
                envelope_sender, [envelope_recipient], payload, mail_options=["SMTPUTF8"] if utf8 else None
            )
        except SMTPRecipientsRefused as refused:
            first = refused.recipients[0]
            return _refusal(message, first.code, first.message)
        except SMTPResponseException as error:  # sender or content refused; 421 also closes the session
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

    def build(self, message: OutboundEmail, now: datetime) -> tuple[str, str, EmailMessage]:
        """The envelope sender and recipient and the MIME message for one outbound e-mail."""
        sender = _parse_sender(message.sender)
        recipient = _address(message.recipient)
        mime = EmailMessage()
        mime["From"] = sender
        mime["To"] = recipient
        if message.reply_to:
            mime["Reply-To"] = message.reply_to
        mime["Subject"] = re.sub(r"\s*[\r\n]+\s*", " ", message.subject).strip()  # a header is one line
        mime["Date"] = format_datetime(now)
        mime["Message-ID"] = f"<{message.idempotency_key}@{self.message_id_domain}>"
        key = quote(message.idempotency_key, safe="")
        mailto = f"mailto:{quote(sender.addr_spec, safe='@')}?subject=unsubscribe%20{key}"
        mime["List-Unsubscribe"] = f"<{mailto}>, <{self.tracker.unsubscribe_url(message.message_id)}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # quoted-printable keeps the message 7-bit and its lines short whatever the HTML looks like
        mime.set_content(html_to_text(message.body_html), cte="quoted-printable")
        mime.add_alternative(message.body_html, subtype="html", cte="quoted-printable")
        return sender.addr_spec, recipient.addr_spec, mime


def _parse_sender(sender: str) -> Address:
    """``Name <address>`` as the pipeline formats it (the name may hold commas or quotes), or a bare address."""
    match = re.fullmatch(r"\s*(.*?)\s*<([^<>]+)>\s*", sender)
    if match:
        return _address(match.group(2), display_name=match.group(1).strip('"'))
    return _address(sender)


def _address(addr_spec: str, display_name: str = "") -> Address:
    """A strictly parsed ``local@domain`` (the lenient parser behind SMTP commands would turn ``a b`` into ``a``)."""
    address = Address(display_name=display_name, addr_spec=addr_spec.strip())
    if not address.username or not address.domain:
        raise ValueError(f"{addr_spec!r} is not an e-mail address")
    return address


def _flatten(mime: EmailMessage, *, utf8: bool) -> bytes:
    with io.BytesIO() as buffer:
        BytesGenerator(buffer, policy=_WIRE_UTF8 if utf8 else _WIRE).flatten(mime)
        return buffer.getvalue()


def _refusal(message: OutboundEmail, code: int, reply: str) -> SendResult:
    return SendResult(message.message_id, False, error=f"{code} {reply}".strip(), transient=not 500 <= code < 600)


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


# -- a plain-text alternative ----------------------------------------------------------------------------------

_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    }
)
_HIDDEN = frozenset({"head", "script", "style", "template", "title"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "img" and attributes.get("alt"):
            self.parts.append(f" {attributes['alt']} ")
        elif tag == "a":
            self.links.append((attributes.get("href"), len(self.parts)))
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _HIDDEN:
            self.hidden -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.parts[start:]).strip()
            if href and not href.startswith(("#", "javascript:")) and href.removeprefix("mailto:") != text:
                self.parts.append(f" ({href})" if text else href)
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(body_html: str) -> str:
    """A readable plain-text rendering of an HTML body: paragraphs, line breaks, list items, link targets."""
    parser = _TextExtractor()
    parser.feed(body_html)
    parser.close()
    lines = [line.strip(" \t") for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
