"""What providers and the bounce mailbox tell us about sent e-mail, in one vocabulary, and how it is applied.

Each adapter (``delivery.feedback_ses``, ``…_sendgrid``, ``…_mailgun``, ``…_postmark``, ``delivery.bounce_mail``)
checks its source's signature, reads the source's own format and answers ``Feedback`` items; ``apply_feedback``
records them in one transaction:

* ``hard_bounce`` — the message is ``bounced`` and the address goes on the suppression list: no send action queues
  e-mail to it again (``suppressed_address``);
* ``complaint`` — the message is flagged (``complained_at``, counted in the campaign report), the customer is
  unsubscribed from e-mail, and the address is suppressed;
* ``unsubscribe`` — as the one-click link: the customer is unsubscribed from e-mail;
* ``soft_bounce`` — nothing changes (counted as ignored): the provider (or the sending relay) retries a temporary
  failure itself and reports a hard bounce if it gives up;
* ``delivered``, ``open``, ``click`` — as the tracking links record them.

A report names our message by the ``Message-ID`` we sent (``<campaign.entry.node.message@domain>``), which every
provider hands back, and the recipient must be the message's; when a report does not carry it (Postmark's
webhooks, or a relay that rewrote the header) the latest e-mail sent to the address is meant.

A report that cannot be read raises ``FeedbackInvalid`` (422) and is kept as it arrived (``store.feedback_reports``);
a report about mail we did not send (a provider account shared with another system) is skipped and counted as
ignored; a bad signature raises ``SignatureInvalid`` (401) and nothing is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from sqlalchemy import Connection

from tidings.core.dialect import Dialect
from tidings.core.errors import InvalidInput, NotFound, Unauthenticated
from tidings.model.statuses import SuppressionReason
from tidings.store import feedback_reports as report_sql
from tidings.store.suppressions import Suppression, suppress
from tidings.store.tracking import Event, TrackingEvent, email_recipients, latest_email_to, record_events

T = TypeVar("T")
FeedbackKind = Literal["delivered", "open", "click", "soft_bounce", "hard_bounce", "complaint", "unsubscribe"]

_TRACKED: dict[FeedbackKind, Event] = {
    "delivered": "delivered",
    "open": "open",
    "click": "click",
    "hard_bounce": "bounced",
    "complaint": "spam",
    "unsubscribe": "unsubscribed",
}
_OUR_MESSAGE_ID = re.compile(r"<?[^<>@\s]*\.([1-9][0-9]{0,18})@[^<>\s]+>?")


class FeedbackInvalid(InvalidInput):
    code = "feedback.invalid"


class SignatureInvalid(Unauthenticated):
    code = "feedback.signature_invalid"


class FeedbackNotConfigured(NotFound):
    code = "feedback.not_configured"


class FeedbackSource(Protocol):
    """One provider's webhook: ``verify`` it came from the provider, then ``read`` what it reports."""

    name: ClassVar[str]

    def verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        """Raise ``SignatureInvalid`` unless the provider signed this request; ``FeedbackInvalid`` when the body
        is too malformed to find its signature in (such a body is not kept: anyone could send it)."""
        ...

    def read(self, body: bytes, now: datetime) -> list[Feedback]:
        """The reports of a verified body; raises ``FeedbackInvalid`` naming what is wrong (the body is kept)."""
        ...


def json_body(body: bytes, source: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise FeedbackInvalid(f"the {source} webhook's body is not JSON: {error}") from error


def field(data: Any, path: str, kind: type[T], source: str) -> T:
    """``data[a][b]…`` for ``path`` "a.b…", of type ``kind``; raises ``FeedbackInvalid`` naming the path."""
    value = data
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise FeedbackInvalid(f"{source}: the field {path!r} is missing", details={"field": path})
        value = value[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FeedbackInvalid(
            f"{source}: the field {path!r} must be {kind.__name__}, not {value!r}"[:500], details={"field": path}
        )
    return value


def timestamp(value: Any, path: str, source: str) -> datetime:
    """An ISO 8601 time or Unix seconds, as providers write them; raises ``FeedbackInvalid``."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise FeedbackInvalid(f"{source}: the field {path!r} is not a time: {value!r}"[:500], details={"field": path})


@dataclass(frozen=True)
class Feedback:
    """One thing a source reports about one recipient of one message."""

    kind: FeedbackKind
    recipient: str
    message_id_header: str | None  # the Message-ID we sent, as the source hands it back (brackets optional)
    at: datetime
    detail: str = ""  # the source's diagnostic: "550 5.1.1 user unknown", "abuse", …


@dataclass(frozen=True)
class Applied:
    applied: int
    suppressed: int
    ignored: int  # soft bounces: nothing to do


def our_message_id(header: str | None) -> int | None:
    """Our message id from a ``Message-ID`` we sent; None for any other."""
    if not header:
        return None
    match = _OUR_MESSAGE_ID.fullmatch(header.strip())
    return int(match.group(1)) if match and int(match.group(1)) < 2**63 else None


def apply_feedback(
    conn: Connection, dialect: Dialect, items: Sequence[Feedback], *, source: str, now: datetime
) -> Applied:
    """Record ``items`` in the caller's transaction. A report about no e-mail we sent is skipped and counted as
    ignored — unless it is a hard bounce or a complaint, whose address is suppressed all the same."""
    named = {i: our_message_id(item.message_id_header) for i, item in enumerate(items)}
    ids = sorted({m for m in named.values() if m is not None})
    recipients = {row.id: row.recipient.lower() for row in conn.execute(email_recipients(ids))} if ids else {}
    events: list[TrackingEvent] = []
    suppressions: list[Suppression] = []
    ignored = 0
    for index, item in enumerate(items):
        if item.kind == "soft_bounce":  # the relay or provider retries it
            ignored += 1
            continue
        address = item.recipient.strip().lower()
        message_id = named[index]
        if message_id is None or recipients.get(message_id) != address:  # not our Message-ID (or not theirs)
            message_id = conn.execute(latest_email_to(item.recipient.strip())).scalar()
        if message_id is not None:
            events.append(TrackingEvent(message_id, _TRACKED[item.kind], min(item.at, now)))
        elif item.kind not in ("hard_bounce", "complaint"):  # e.g. a delivery of mail another system sent
            ignored += 1
        if item.kind in ("hard_bounce", "complaint"):
            reason: SuppressionReason = "hard_bounce" if item.kind == "hard_bounce" else "complaint"
            suppressions.append(Suppression(address, reason, source, item.detail, message_id, now))
    record_events(conn, dialect, events, now=now)
    if suppressions:
        statement, rows = suppress(dialect, suppressions)
        conn.execute(statement, rows)
    return Applied(applied=len(events), suppressed=len(suppressions), ignored=ignored)


def keep_refused(conn: Connection, *, source: str, error: str, body: str, at: datetime) -> None:
    """Keep a refused report as it arrived, for someone to inspect (``GET /api/v1/feedback/refused``)."""
    conn.execute(report_sql.keep_refused(source=source, error=error, body=body, at=at))
