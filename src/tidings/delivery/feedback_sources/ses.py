"""Amazon SES notifications, delivered by Amazon SNS (``Bounce``, ``Complaint``, ``Delivery``; the notification
and the event-publishing forms alike).

SNS signs each message with RSA: the signature (``Signature``, base64) is over the message's fields in a fixed
order, each name and value on a line of its own; ``SignatureVersion`` 1 is SHA1withRSA, 2 SHA256withRSA. The
signing certificate is fetched once from ``SigningCertURL``, which must match ``TIDINGS_SNS_URL_PATTERN`` (an
Amazon SNS host), and the topic must be one of ``TIDINGS_SES_TOPIC_ARNS``. A ``SubscriptionConfirmation`` is
confirmed by fetching its ``SubscribeURL`` (which must match the same pattern).

A ``Permanent`` bounce is hard, a ``Transient`` or ``Undetermined`` one soft; each recipient of a bounce or
complaint is one report. The ``Message-ID`` we sent is ``mail.commonHeaders.messageId`` (or ``mail.headers``).
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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

_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The bytes SNS signs: ``name\\nvalue\\n`` for each signed field present, in SNS's order."""
    names = _SIGNED_FIELDS[str(message["Type"])]
    return "".join(f"{name}\n{message[name]}\n" for name in names if message.get(name) is not None).encode()


class Ses:
    name: ClassVar[str] = "ses"

    def __init__(self, settings: Settings) -> None:
        self.topics = frozenset(settings.ses_topic_arns)
        self.urls = re.compile(settings.sns_url_pattern)
        self.timeout = settings.provider_timeout_seconds
        self._certificates: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def verify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> None:
        if not self.topics:
            raise FeedbackNotConfigured("the Amazon SES (SNS) webhook is not configured: set TIDINGS_SES_TOPIC_ARNS")
        message = json_body(body, "ses")
        if not isinstance(message, dict) or message.get("Type") not in _SIGNED_FIELDS:
            raise SignatureInvalid("not an Amazon SNS message (Type is missing or unknown)")
        if message.get("TopicArn") not in self.topics:
            raise SignatureInvalid(f"SNS topic {message.get('TopicArn')!r} is not one of TIDINGS_SES_TOPIC_ARNS")
        algorithm = _HASHES.get(str(message.get("SignatureVersion")))
        cert_url = message.get("SigningCertURL")
        if algorithm is None or not isinstance(cert_url, str) or not isinstance(message.get("Signature"), str):
            raise SignatureInvalid("the SNS message carries no usable signature")
        key = self._certificate(cert_url)
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
        except (InvalidSignature, binascii.Error, ValueError):
            raise SignatureInvalid("the SNS message's signature does not match its signing certificate") from None

    def _certificate(self, url: str) -> rsa.RSAPublicKey:
        if not self.urls.match(url) or not url.endswith(".pem"):
            raise SignatureInvalid(f"SNS signing certificate URL {url!r} is not an Amazon SNS address")
        with self._lock:
            key = self._certificates.get(url)
        if key is not None:
            return key
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=False)
            response.raise_for_status()
            public = x509.load_pem_x509_certificate(response.content).public_key()
        except (httpx.HTTPError, ValueError) as error:
            raise SignatureInvalid(f"the SNS signing certificate cannot be fetched from {url}: {error}") from None
        if not isinstance(public, rsa.RSAPublicKey):
            raise SignatureInvalid("the SNS signing certificate is not an RSA certificate")
        with self._lock:
            self._certificates[url] = public
        return public

    def read(self, body: bytes, now: datetime) -> list[Feedback]:
        message: Any = json_body(body, "ses")
        if message["Type"] != "Notification":
            self._confirm(message)
            return []
        notification = json_body(field(message, "Message", str, "ses").encode(), "ses Message")
        kind_name = notification.get("notificationType") or notification.get("eventType")
        if kind_name == "Bounce":
            bounce = field(notification, "bounce", dict, "ses")
            bounce_type = field(bounce, "bounceType", str, "ses bounce")
            kind: FeedbackKind = "hard_bounce" if bounce_type == "Permanent" else "soft_bounce"
            recipients = field(bounce, "bouncedRecipients", list, "ses bounce")
            at = bounce.get("timestamp")
        elif kind_name == "Complaint":
            complaint = field(notification, "complaint", dict, "ses")
            kind = "complaint"
            recipients = field(complaint, "complainedRecipients", list, "ses complaint")
            at = complaint.get("timestamp")
        elif kind_name == "Delivery":
            delivery = field(notification, "delivery", dict, "ses")
            kind = "delivered"
            recipients = [{"emailAddress": r} for r in field(delivery, "recipients", list, "ses delivery")]
            at = delivery.get("timestamp")
        else:
            raise FeedbackInvalid(f"ses: notification type {kind_name!r} is not Bounce, Complaint or Delivery")
        when = timestamp(at, "timestamp", "ses")
        header = _message_id(field(notification, "mail", dict, "ses"))
        found = []
        for index, recipient in enumerate(recipients):
            where = f"ses recipient {index}"
            detail = " ".join(
                str(recipient[k])
                for k in ("status", "diagnosticCode")
                if isinstance(recipient, dict) and recipient.get(k)
            )
            found.append(Feedback(kind, field(recipient, "emailAddress", str, where), header, when, detail))
        return found

    def _confirm(self, message: Any) -> None:
        url = field(message, "SubscribeURL", str, "ses")
        if not self.urls.match(url):
            raise FeedbackInvalid(f"ses: SubscribeURL {url!r} is not an Amazon SNS address")
        if message["Type"] == "SubscriptionConfirmation":
            try:
                httpx.get(url, timeout=self.timeout, follow_redirects=False).raise_for_status()
            except httpx.HTTPError as error:
                raise FeedbackInvalid(f"ses: the subscription could not be confirmed at {url}: {error}") from None


def _message_id(mail: Mapping[str, Any]) -> str | None:
    common = mail.get("commonHeaders")
    if isinstance(common, dict) and isinstance(common.get("messageId"), str):
        return str(common["messageId"])
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            return str(header.get("value"))
    return None
