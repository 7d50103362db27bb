"""Mailgun's webhooks (``failed``, ``complained``, ``unsubscribed``, ``delivered``, ``opened``, ``clicked``).

Mailgun signs each request inside its JSON body: ``signature.signature`` is the hex HMAC-SHA256, under the
webhook signing key, of ``signature.timestamp`` followed by ``signature.token``. A ``failed`` event of
``severity`` ``permanent`` is a hard bounce, ``temporary`` a soft one. The ``Message-ID`` we sent is
``event-data.message.headers.message-id`` (without angle brackets).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from tidings.delivery.feedback import (
    Feedback,
    FeedbackInvalid,
    FeedbackKind,
    FeedbackNotConfigured,
    SignatureInvalid,
    field,
    json_body,
    timestamp,
)
from tidings.settings import Settings

_KINDS: dict[str, FeedbackKind] = {
    "delivered": "delivered",
    "opened": "open",
    "clicked": "click",
    "complained": "complaint",
    "unsubscribed": "unsubscribe",
}


class Mailgun:
    name: ClassVar[str] = "mailgun"

    def __init__(self, settings: Settings) -> None:
        key = settings.mailgun_webhook_signing_key
        self.key = key.get_secret_value().encode() if key is not None else None
        self.max_age = settings.feedback_max_age_seconds

    def verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        if self.key is None:
            raise FeedbackNotConfigured(
                "the Mailgun webhook is not configured: set TIDINGS_MAILGUN_WEBHOOK_SIGNING_KEY"
            )
        data = json_body(body, "mailgun")
        signature = data.get("signature") if isinstance(data, dict) else None
        if not isinstance(signature, dict):
            raise SignatureInvalid("the Mailgun webhook carries no signature")
        stamp, token, digest = (signature.get(k) for k in ("timestamp", "token", "signature"))
        if not all(isinstance(v, str) for v in (stamp, token, digest)) or not str(stamp).isdigit():
            raise SignatureInvalid("the Mailgun webhook's signature is malformed")
        expected = hmac.new(self.key, f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(digest)):
            raise SignatureInvalid("the Mailgun webhook's signature does not match the signing key")
        if abs((now - datetime.fromtimestamp(int(str(stamp)), UTC)).total_seconds()) > self.max_age:
            raise SignatureInvalid("the Mailgun webhook's timestamp is too old (a replay?)")

    def read(self, body: bytes, now: datetime) -> list[Feedback]:
        event: Any = field(json_body(body, "mailgun"), "event-data", dict, "mailgun")
        kind_name = field(event, "event", str, "mailgun")
        if kind_name == "failed":
            severity = field(event, "severity", str, "mailgun")
            if severity not in ("permanent", "temporary"):
                raise FeedbackInvalid(f"mailgun: severity {severity!r} is neither permanent nor temporary")
            kind: FeedbackKind = "hard_bounce" if severity == "permanent" else "soft_bounce"
        elif kind_name in _KINDS:
            kind = _KINDS[kind_name]
        else:
            raise FeedbackInvalid(
                f"mailgun: event {kind_name!r} is not one Tidings reads ({', '.join(['failed', *_KINDS])})"
            )
        status = event.get("delivery-status") if isinstance(event.get("delivery-status"), dict) else {}
        detail = " ".join(str(status.get(k, "")) for k in ("code", "message", "description") if status.get(k))
        return [
            Feedback(
                kind=kind,
                recipient=field(event, "recipient", str, "mailgun"),
                message_id_header=field(event, "message.headers.message-id", str, "mailgun"),
                at=timestamp(event.get("timestamp"), "event-data.timestamp", "mailgun"),
                detail=detail or str(event.get("reason", "")),
            )
        ]
