"""Applying reports: what a report about mail we did not send, or a soft bounce, changes (nothing but counts)."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import START
from tidings.delivery.feedback import Feedback, apply_feedback, our_message_id
from tidings.services import Services
from tidings.store.tables import email_suppressions


def test_reports_about_mail_we_did_not_send_are_skipped_but_a_hard_bounce_still_suppresses(services: Services) -> None:
    items = [
        Feedback("delivered", "x@example.com", "<someone-else@other.example>", START),
        Feedback("soft_bounce", "y@example.com", None, START, "452 mailbox full"),
        Feedback("hard_bounce", "Z@Example.com", "<1.2.e1.3@tidings.local>", START, "550 5.1.1 user unknown"),
    ]
    with services.db.engine.begin() as conn:
        applied = apply_feedback(conn, services.db.dialect, items, source="sendgrid", now=START)
        again = apply_feedback(conn, services.db.dialect, items[2:], source="mailgun", now=START)
        rows = conn.execute(select(email_suppressions)).mappings().all()
    assert (applied.applied, applied.suppressed, applied.ignored) == (0, 1, 2)
    assert again.suppressed == 1  # reported again: the first reason and source stay
    assert [(r["address"], r["reason"], r["source"], r["detail"]) for r in rows] == [
        ("z@example.com", "hard_bounce", "sendgrid", "550 5.1.1 user unknown")
    ]


def test_our_message_id_reads_only_ours() -> None:
    assert our_message_id("<7.101.welcome.12@acme.example>") == 12
    assert our_message_id("7.101.welcome.12@acme.example") == 12  # Mailgun drops the brackets
    assert our_message_id("<0100018c-abc@email.amazonses.com>") is None
    assert our_message_id("<7.101.welcome.99999999999999999999@acme.example>") is None
    assert our_message_id(None) is None
