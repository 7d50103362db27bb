"""SendGrid's signed event webhook: a JSON array of events (``bounce``, ``blocked``, ``deferred``, ``spamreport``,
``unsubscribe``, ``delivered``, ``open``, ``click``; others are skipped).

SendGrid signs the request with ECDSA (P-256, SHA-256) over the ``X-Twilio-Email-Event-Webhook-Timestamp``
header followed by the raw body; the base64 DER signature is in ``X-Twilio-Email-Event-Webhook-Signature``, the
verification key in SendGrid's settings (``TIDINGS_SENDGRID_WEBHOOK_PUBLIC_KEY``). A ``bounce`` event (``type``
``bounce``) is a hard bounce; ``blocked`` or ``deferred`` is a soft one. The ``Message-ID`` we sent is ``smtp-id``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

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

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
_KINDS: dict[str, FeedbackKind] = {
    "delivered": "delivered",
    "open": "open",
    "click": "click",
    "spamreport": "complaint",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "deferred": "soft_bounce",
}
#: Reported by SendGrid, nothing for Tidings to do: accepted and skipped.
_SKIPPED = frozenset({"processed", "dropped", "group_resubscribe"})


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER) or as PEM; raises ``ValueError``."""
    text = text.strip()
    try:
        key = (
            serialization.load_pem_public_key(text.encode())
            if text.startswith("-----")
            else serialization.load_der_public_key(base64.b64decode(text, validate=True))
        )
    except (ValueError, binascii.Error) as error:
        raise ValueError(f"TIDINGS_SENDGRID_WEBHOOK_PUBLIC_KEY is not a public key: {error}") from error
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("TIDINGS_SENDGRID_WEBHOOK_PUBLIC_KEY must be an ECDSA key (SendGrid's verification key)")
    return key


class SendGrid:
    name: ClassVar[str] = "sendgrid"

    def __init__(self, settings: Settings) -> None:
        text = settings.sendgrid_webhook_public_key
        self.key = load_public_key(text) if text else None
        self.max_age = settings.feedback_max_age_seconds

    def verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        if self.key is None:
            raise FeedbackNotConfigured(
                "the SendGrid event webhook is not configured: set TIDINGS_SENDGRID_WEBHOOK_PUBLIC_KEY"
            )
        signature, stamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
        if not signature or not stamp or not stamp.isdigit():
            raise SignatureInvalid("the SendGrid webhook carries no signature and timestamp headers")
        try:
            self.key.verify(
                base64.b64decode(signature, validate=True), stamp.encode() + body, ec.ECDSA(hashes.SHA256())
            )
        except (InvalidSignature, binascii.Error, ValueError):
            raise SignatureInvalid("the SendGrid webhook's signature does not match the verification key") from None
        if abs((now - datetime.fromtimestamp(int(stamp), UTC)).total_seconds()) > self.max_age:
            raise SignatureInvalid("the SendGrid webhook's timestamp is too old (a replay?)")

    def read(self, body: bytes, now: datetime) -> list[Feedback]:
        events = json_body(body, "sendgrid")
        if not isinstance(events, list) or not events:
            raise FeedbackInvalid("sendgrid: the body must be a non-empty JSON array of events")
        found: list[Feedback] = []
        for index, event in enumerate(events):
            where = f"sendgrid event {index}"
            name = field(event, "event", str, where)
            if name in _SKIPPED:
                continue
            kind = _kind(event, name, where)
            found.append(
                Feedback(
                    kind=kind,
                    recipient=field(event, "email", str, where),
                    message_id_header=_string(event.get("smtp-id")),
                    at=timestamp(event.get("timestamp"), "timestamp", where),
                    detail=" ".join(str(event[k]) for k in ("status", "reason", "response") if event.get(k)),
                )
            )
        return found


def _kind(event: Any, name: str, where: str) -> FeedbackKind:
    if name == "bounce":
        return "soft_bounce" if event.get("type") == "blocked" else "hard_bounce"
    if name in _KINDS:
        return _KINDS[name]
    raise FeedbackInvalid(f"{where}: event {name!r} is not a SendGrid event Tidings knows")


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
