"""Postmark's webhooks: one JSON record per request (``RecordType`` ``Bounce``, ``SpamComplaint``, ``Delivery``,
``Open``, ``Click``, ``SubscriptionChange``).

Postmark does not sign webhooks: it authenticates them with HTTP basic auth, the user and password written into
the webhook URL (``https://user:password@tidings.example.com/api/v1/feedback/postmark``), compared here in constant
time with ``TIDINGS_POSTMARK_WEBHOOK_CREDENTIALS``. A ``Bounce`` of ``Type`` ``HardBounce``, ``BadEmailAddress``,
``ManuallyDeactivated`` or ``SpamNotification``… is hard when Postmark deactivated the address (``Inactive``); other
bounces are soft. Postmark's records carry its own ``MessageID``, not ours: the latest e-mail to the address is meant.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import datetime
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

#: (record type, the field of the recipient, the field of the time)
_RECORDS: dict[str, tuple[str, str]] = {
    "Bounce": ("Email", "BouncedAt"),
    "SpamComplaint": ("Email", "BouncedAt"),
    "Delivery": ("Recipient", "DeliveredAt"),
    "Open": ("Recipient", "ReceivedAt"),
    "Click": ("Recipient", "ReceivedAt"),
    "SubscriptionChange": ("Recipient", "ChangedAt"),
}


class Postmark:
    name: ClassVar[str] = "postmark"

    def __init__(self, settings: Settings) -> None:
        credentials = settings.postmark_webhook_credentials
        self.expected = (
            "Basic " + base64.b64encode(credentials.get_secret_value().encode()).decode()
            if credentials is not None
            else None
        )

    def verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        if self.expected is None:
            raise FeedbackNotConfigured(
                "the Postmark webhook is not configured: set TIDINGS_POSTMARK_WEBHOOK_CREDENTIALS"
            )
        given = headers.get("authorization", "")
        try:
            given = "Basic " + base64.b64encode(base64.b64decode(given.removeprefix("Basic "), validate=True)).decode()
        except (binascii.Error, ValueError):
            raise SignatureInvalid("the Postmark webhook's basic auth is malformed") from None
        if not hmac.compare_digest(given.encode(), self.expected.encode()):
            raise SignatureInvalid(
                "the Postmark webhook's credentials do not match TIDINGS_POSTMARK_WEBHOOK_CREDENTIALS"
            )

    def read(self, body: bytes, now: datetime) -> list[Feedback]:
        record: Any = json_body(body, "postmark")
        record_type = field(record, "RecordType", str, "postmark")
        if record_type not in _RECORDS:
            raise FeedbackInvalid(f"postmark: RecordType {record_type!r} is not one of {', '.join(_RECORDS)}")
        recipient_field, time_field = _RECORDS[record_type]
        kind = _kind(record, record_type)
        if kind is None:
            return []
        return [
            Feedback(
                kind=kind,
                recipient=field(record, recipient_field, str, "postmark"),
                message_id_header=None,
                at=timestamp(record.get(time_field), time_field, "postmark"),
                detail=" ".join(str(record[k]) for k in ("Type", "Description", "Details") if record.get(k)),
            )
        ]


def _kind(record: Any, record_type: str) -> FeedbackKind | None:
    if record_type == "Bounce":
        return "hard_bounce" if field(record, "Inactive", bool, "postmark") else "soft_bounce"
    if record_type == "SubscriptionChange":  # SuppressSending: the recipient unsubscribed (or was reactivated)
        return "unsubscribe" if field(record, "SuppressSending", bool, "postmark") else None
    kinds: dict[str, FeedbackKind] = {
        "SpamComplaint": "complaint",
        "Delivery": "delivered",
        "Open": "open",
        "Click": "click",
    }
    return kinds[record_type]
