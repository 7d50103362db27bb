"""Local stand-ins for the e-mail providers' webhooks: each signs the provider's documented sample payloads the
way the provider documents it and posts them to Tidings over HTTP. Amazon SNS's signing certificate (and its
subscription confirmation) is served by a real HTTP server on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from tidings.delivery.feedback_sources.ses import string_to_sign

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"


class FakeProvider(ABC):
    """Signs and posts one provider's webhooks; ``tamper`` breaks the signature the way an attacker would."""

    source: str

    @abstractmethod
    def settings(self) -> dict[str, Any]: ...

    @abstractmethod
    def request(self, payload: Any, now: datetime, *, tamper: bool = False) -> tuple[bytes, dict[str, str]]: ...

    def post(
        self, origin: str, payload: Any, now: datetime, *, tamper: bool = False, raw: bytes | None = None
    ) -> httpx.Response:
        body, headers = self.request(payload, now, tamper=tamper) if raw is None else self.signed_raw(raw, now)
        with httpx.Client(timeout=30, trust_env=False) as http:
            return http.post(f"{origin}/api/v1/feedback/{self.source}", content=body, headers=headers)

    @abstractmethod
    def signed_raw(self, raw: bytes, now: datetime) -> tuple[bytes, dict[str, str]]:
        """A body that is not the provider's format, signed as the provider would sign it (where it can be)."""
        ...

    # documented samples, filled in for one message ---------------------------------------------------------
    @abstractmethod
    def bounce(self, recipient: str, message_id: str, now: datetime) -> Any: ...

    @abstractmethod
    def complaint(self, recipient: str, message_id: str, now: datetime) -> Any: ...


class FakeSendGrid(FakeProvider):
    """SendGrid's signed event webhook: ECDSA P-256 over timestamp + body, base64 DER in a header."""

    source = "sendgrid"

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.verification_key = base64.b64encode(der).decode()

    def settings(self) -> dict[str, Any]:
        return {"sendgrid_webhook_public_key": self.verification_key}

    def request(self, payload: Any, now: datetime, *, tamper: bool = False) -> tuple[bytes, dict[str, str]]:
        return self.signed_raw(json.dumps(payload).encode(), now, tamper=tamper)

    def signed_raw(self, raw: bytes, now: datetime, *, tamper: bool = False) -> tuple[bytes, dict[str, str]]:
        stamp = str(int(now.timestamp()))
        signature = self.key.sign(stamp.encode() + raw, ec.ECDSA(hashes.SHA256()))
        if tamper:
            raw = raw.replace(b"@", b"@x", 1)
        return raw, {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }

    def bounce(self, recipient: str, message_id: str, now: datetime) -> Any:
        return [
            {
                "email": recipient,
                "timestamp": int(now.timestamp()),
                "smtp-id": message_id,
                "event": "bounce",
                "category": "cat facts",
                "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                "reason": "500 unknown recipient",
                "status": "5.0.0",
                "type": "bounce",
            }
        ]

    def complaint(self, recipient: str, message_id: str, now: datetime) -> Any:
        return [
            {
                "email": recipient,
                "timestamp": int(now.timestamp()),
                "smtp-id": message_id,
                "event": "spamreport",
                "sg_event_id": "37nvH5QBz858KGVYCM4uOA==",
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            }
        ]


class FakeMailgun(FakeProvider):
    """Mailgun: HMAC-SHA256 of timestamp + token under the webhook signing key, inside the JSON body."""

    source = "mailgun"
    signing_key = "key-mailgun-webhook-signing"

    def settings(self) -> dict[str, Any]:
        return {"mailgun_webhook_signing_key": self.signing_key}

    def request(self, payload: Any, now: datetime, *, tamper: bool = False) -> tuple[bytes, dict[str, str]]:
        stamp, token = str(int(now.timestamp())), "2f8a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f"
        digest = hmac.new(self.signing_key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
        if tamper:
            digest = hmac.new(b"someone else's key", f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
        body = {"signature": {"timestamp": stamp, "token": token, "signature": digest}, "event-data": payload}
        return json.dumps(body).encode(), {"Content-Type": "application/json"}

    def signed_raw(self, raw: bytes, now: datetime) -> tuple[bytes, dict[str, str]]:
        body, headers = self.request({}, now)
        return body.replace(b'"event-data": {}', b'"event-data": ' + raw), headers

    def _event(self, recipient: str, message_id: str, now: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": now.timestamp(),
            "log-level": "error",
            "recipient": recipient,
            "recipient-domain": recipient.partition("@")[2],
            "message": {"headers": {"to": recipient, "message-id": message_id.strip("<>"), "subject": "Hello"}},
            **fields,
        }

    def bounce(self, recipient: str, message_id: str, now: datetime) -> Any:
        return self._event(
            recipient,
            message_id,
            now,
            event="failed",
            severity="permanent",
            reason="bounce",
            **{
                "delivery-status": {
                    "code": 550,
                    "message": "No such user",
                    "description": "",
                    "attempt-no": 1,
                }
            },
        )

    def complaint(self, recipient: str, message_id: str, now: datetime) -> Any:
        return self._event(recipient, message_id, now, event="complained")


class FakePostmark(FakeProvider):
    """Postmark: no signature; HTTP basic auth with the credentials written into the webhook URL."""

    source = "postmark"
    credentials = "postmark:webhook-password-1234"

    def settings(self) -> dict[str, Any]:
        return {"postmark_webhook_credentials": self.credentials}

    def request(self, payload: Any, now: datetime, *, tamper: bool = False) -> tuple[bytes, dict[str, str]]:
        credentials = "postmark:guessed" if tamper else self.credentials
        auth = "Basic " + base64.b64encode(credentials.encode()).decode()
        return json.dumps(payload).encode(), {"Content-Type": "application/json", "Authorization": auth}

    def signed_raw(self, raw: bytes, now: datetime) -> tuple[bytes, dict[str, str]]:
        _, headers = self.request({}, now)
        return raw, headers

    def bounce(self, recipient: str, message_id: str, now: datetime) -> Any:
        return {
            "RecordType": "Bounce",
            "MessageStream": "outbound",
            "ID": 4323372036854775807,
            "Type": "HardBounce",
            "TypeCode": 1,
            "Name": "Hard bounce",
            "Tag": "Test",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Metadata": {},
            "ServerID": 23,
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "Test bounce details",
            "Email": recipient,
            "From": "campaigns@tidings.local",
            "BouncedAt": now.isoformat().replace("+00:00", "Z"),
            "DumpAvailable": True,
            "Inactive": True,
            "CanActivate": True,
            "Subject": "Test subject",
            "Content": "Return-Path: <>",
        }

    def complaint(self, recipient: str, message_id: str, now: datetime) -> Any:
        return {
            "RecordType": "SpamComplaint",
            "MessageStream": "outbound",
            "ID": 42,
            "Type": "SpamComplaint",
            "TypeCode": 512,
            "Name": "Spam complaint",
            "MessageID": "00000000-0000-0000-0000-000000000000",
            "Description": "The subscriber explicitly marked this message as spam.",
            "Details": "Test spam complaint details",
            "Email": recipient,
            "From": "campaigns@tidings.local",
            "BouncedAt": now.isoformat().replace("+00:00", "Z"),
            "Inactive": True,
            "CanActivate": False,
            "Subject": "Test subject",
        }


class FakeSns(FakeProvider):
    """Amazon SNS carrying SES notifications: RSA (SignatureVersion 1, SHA1withRSA) over SNS's string to sign;
    the certificate and the subscription confirmation served over HTTP on loopback."""

    source = "ses"

    def __init__(self, base_url: str, confirmations: list[str]) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.base_url = base_url
        self.confirmations = confirmations
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        start = datetime(2025, 1, 1, tzinfo=UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(1)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=3650))
            .sign(self.key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )

    def settings(self) -> dict[str, Any]:
        return {"ses_topic_arns": [TOPIC], "sns_url_pattern": f"^{self.base_url.replace('.', '[.]')}/"}

    def sign(self, message: dict[str, Any], *, tamper: bool = False) -> dict[str, Any]:
        message = {
            **message,
            "SignatureVersion": "1",
            "SigningCertURL": f"{self.base_url}/SimpleNotificationService-0000000000000000000000.pem",
        }
        signature = self.key.sign(string_to_sign(message), padding.PKCS1v15(), hashes.SHA1())
        message["Signature"] = base64.b64encode(signature).decode()
        if tamper:
            message["Message"] = message["Message"].replace("@", "@x", 1)
        return message

    def request(self, payload: Any, now: datetime, *, tamper: bool = False) -> tuple[bytes, dict[str, str]]:
        envelope = {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": TOPIC,
            "Message": json.dumps(payload),
            "Timestamp": now.isoformat().replace("+00:00", "Z"),
        }
        return json.dumps(self.sign(envelope, tamper=tamper)).encode(), {
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": "Notification",
        }

    def signed_raw(self, raw: bytes, now: datetime) -> tuple[bytes, dict[str, str]]:
        envelope = {
            "Type": "Notification",
            "MessageId": "bad",
            "TopicArn": TOPIC,
            "Message": raw.decode(),
            "Timestamp": now.isoformat(),
        }
        return json.dumps(self.sign(envelope)).encode(), {"Content-Type": "text/plain; charset=UTF-8"}

    def subscription(self, now: datetime) -> bytes:
        envelope = {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6",
            "TopicArn": TOPIC,
            "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
            "SubscribeURL": f"{self.base_url}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f",
            "Timestamp": now.isoformat().replace("+00:00", "Z"),
        }
        return json.dumps(self.sign(envelope)).encode()

    def _mail(self, recipient: str, message_id: str, now: datetime) -> dict[str, Any]:
        return {
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "source": "campaigns@tidings.local",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/tidings.local",
            "messageId": "0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
            "destination": [recipient],
            "headersTruncated": False,
            "headers": [{"name": "Message-ID", "value": message_id}],
            "commonHeaders": {"from": ["campaigns@tidings.local"], "to": [recipient], "messageId": message_id},
        }

    def bounce(self, recipient: str, message_id: str, now: datetime) -> Any:
        return {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": recipient,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "feedbackId": "000001378603176d-5a4b5ad9-6f30-4198-a8c3-b1eb0c270a1d-000000",
                "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
            },
            "mail": self._mail(recipient, message_id, now),
        }

    def complaint(self, recipient: str, message_id: str, now: datetime) -> Any:
        return {
            "notificationType": "Complaint",
            "complaint": {
                "userAgent": "AnyCompany Feedback Loop (V0.01)",
                "complainedRecipients": [{"emailAddress": recipient}],
                "complaintFeedbackType": "abuse",
                "arrivalDate": now.isoformat().replace("+00:00", "Z"),
                "timestamp": now.isoformat().replace("+00:00", "Z"),
                "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
            },
            "mail": self._mail(recipient, message_id, now),
        }


@contextmanager
def sns_endpoint() -> Iterator[FakeSns]:
    """Serve the fake SNS's certificate and subscription confirmations on a loopback port."""
    confirmations: list[str] = []
    holder: list[FakeSns] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith(".pem"):
                body = holder[0].certificate
            else:
                confirmations.append(self.path)
                body = b"<ConfirmSubscriptionResponse/>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    holder.append(FakeSns(f"http://127.0.0.1:{server.server_address[1]}", confirmations))
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
