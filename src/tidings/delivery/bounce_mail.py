"""The bounce mailbox: delivery status notifications (DSN, RFC 3464) and spam complaints in the Abuse Reporting
Format (ARF, RFC 5965) that come back to the envelope sender, read into ``delivery.feedback`` reports.

* An ARF report (``multipart/report; report-type=feedback-report``) is a complaint about the recipient named by
  ``Original-Rcpt-To`` in its ``message/feedback-report`` part, or else by the returned message's ``To``.
* Any other bounce is read by ``flufl.bounce`` (GNU Mailman's detectors: RFC 3464 DSNs and the many non-standard
  forms mail servers still send): its permanent failures are hard bounces, its temporary ones soft.

The ``Message-ID`` of the returned message (its ``message/rfc822`` or ``text/rfc822-headers`` part) names our
message. A mail in which neither finds a failed recipient raises ``FeedbackInvalid``.

``import_folder`` reads a folder the bounce mailbox is delivered into (one file per mail, as a Maildir's ``new/``
or a ``fetchmail``/``getmail`` drop): each mail is applied in a transaction of its own and moved to ``done/``; a
refused one is kept in the database (``GET /api/v1/feedback/refused``) and moved to ``refused/``, so nothing is
lost and nothing is read twice.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from pathlib import Path

from flufl.bounce import all_failures

from tidings.delivery.feedback import Feedback, FeedbackInvalid, apply_feedback, keep_refused
from tidings.store.database import Database

SOURCE = "mailbox"


def read_bounce(raw: bytes, now: datetime) -> list[Feedback]:
    """The reports in one bounced or complaint mail; raises ``FeedbackInvalid`` naming what is missing."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not message.keys():
        raise FeedbackInvalid("the mail has no headers: not a bounce or a feedback report")
    returned = _returned_headers(message)
    message_id = returned.get("Message-ID") if returned is not None else None
    if _is_feedback_report(message):
        report = _part(message, "message/feedback-report")
        fields = _report_fields(report) if report is not None else {}
        recipient = fields.get("original-rcpt-to") or (returned.get("To") if returned is not None else None)
        if not recipient:
            raise FeedbackInvalid("the feedback report names no recipient (no Original-Rcpt-To, no returned To)")
        detail = f"{fields.get('feedback-type', 'abuse')} reported by {fields.get('user-agent', 'unknown')}"
        return [Feedback("complaint", _address(recipient), message_id, now, detail)]
    try:
        temporary, permanent = all_failures(message)
    except Exception as error:  # a detector tripped over a malformed part
        raise FeedbackInvalid(f"the bounce cannot be read: {type(error).__name__}: {error}") from error
    if not temporary and not permanent:
        raise FeedbackInvalid(
            "no failed recipient found: the mail is neither a delivery status notification nor a known bounce form"
        )
    subject = str(message.get("Subject", ""))[:200]
    found = [Feedback("hard_bounce", _decode(a), message_id, now, subject) for a in sorted(permanent)]
    found += [Feedback("soft_bounce", _decode(a), message_id, now, subject) for a in sorted(temporary - permanent)]
    return found


def _is_feedback_report(message: Message) -> bool:
    return message.get_content_type() == "multipart/report" and message.get_param("report-type") == "feedback-report"


def _part(message: Message, content_type: str) -> Message | None:
    return next((part for part in message.walk() if part.get_content_type() == content_type), None)


def _report_fields(part: Message) -> dict[str, str]:
    """The ``Name: value`` fields of a ``message/feedback-report`` part (parsed as a message of its own)."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses it as an attached message
        fields: dict[str, str] = {}
        for sub in payload:
            if isinstance(sub, Message):
                fields |= {name.lower(): str(value).strip() for name, value in sub.items()}
        return fields
    parsed = email.message_from_string(str(payload), policy=email.policy.compat32)
    return {name.lower(): str(value).strip() for name, value in parsed.items()}


def _returned_headers(message: Message) -> Message | None:
    """The headers of the returned original: a ``message/rfc822`` or ``text/rfc822-headers`` part."""
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                inner = payload[0]
                return inner if isinstance(inner, Message) else None
        if part.get_content_type() == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                return email.message_from_bytes(text, policy=email.policy.compat32)
    return None


def _address(value: str) -> str:
    return email.utils.parseaddr(value)[1] or value.strip()


def _decode(address: bytes) -> str:
    return address.decode("utf-8", "replace").strip()


@dataclass
class FolderReport:
    applied: int = 0
    suppressed: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file name, why)


def import_folder(db: Database, folder: Path, now: datetime) -> FolderReport:
    """Apply every mail file directly in ``folder``; move each to ``done/`` or ``refused/`` beside it."""
    report = FolderReport()
    done, refused = folder / "done", folder / "refused"
    done.mkdir(exist_ok=True)
    refused.mkdir(exist_ok=True)
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        raw = path.read_bytes()
        try:
            items = read_bounce(raw, now)
            with db.engine.begin() as conn:
                applied = apply_feedback(conn, db.dialect, items, source=SOURCE, now=now)
        except FeedbackInvalid as error:
            with db.engine.begin() as conn:
                keep_refused(conn, source=SOURCE, error=f"{path.name}: {error.message}", body=_text(raw), at=now)
            report.refused.append((path.name, error.message))
            path.rename(refused / path.name)
            continue
        report.applied += applied.applied
        report.suppressed += applied.suppressed
        path.rename(done / path.name)
    return report


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")
