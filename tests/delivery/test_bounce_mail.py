"""The bounce mailbox: a Postfix DSN, a delayed-delivery DSN, an ARF spam complaint and a reply that is neither,
dropped into a folder and read by `tidings bounces import`, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from tests.engine.helpers import add_customers, advance, campaign, email_node, start
from tidings.cli import app
from tidings.delivery.bounce_mail import read_bounce
from tidings.delivery.feedback import FeedbackInvalid
from tidings.services import Services
from tidings.store.tables import channel_subscriptions, email_suppressions, feedback_reports, messages

SAMPLES = Path(__file__).parent / "bounces"


def header(services: Services, recipient: str) -> str:
    query = select(messages.c.id, messages.c.campaign_id, messages.c.entry_id, messages.c.node_id).where(
        messages.c.recipient == recipient
    )
    with services.db.engine.connect() as conn:
        row = conn.execute(query).one()
    return f"<{row.campaign_id}.{row.entry_id}.{row.node_id}.{row.id}@tidings.local>"


def test_a_folder_of_bounces_and_complaints_is_applied_and_the_unreadable_kept(
    services: Services, database_url: str, tmp_path: Path
) -> None:
    people = add_customers(
        services,
        *({"external_id": name, "email": f"{name}@example.com"} for name in ("ann", "bob", "carol", "dave")),
    )
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, ["ann", "bob", "carol", "dave"], None)
    advance(services, minutes=1)
    drop = tmp_path / "bounces"
    drop.mkdir()
    for sample in SAMPLES.iterdir():
        text = sample.read_text().replace("{ANN_MESSAGE_ID}", header(services, "ann@example.com"))
        (drop / sample.name).write_text(text.replace("{BOB_MESSAGE_ID}", header(services, "bob@example.com")))

    result = CliRunner().invoke(app, ["bounces", "import", str(drop)], env={"TIDINGS_DATABASE_URL": database_url})

    assert result.exit_code == 1, result.output  # one mail was refused
    assert "applied 2 reports, suppressed 2 addresses" in result.output
    assert "not_a_bounce.eml: no failed recipient found" in " ".join(result.output.split())
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "arf_complaint.eml",
        "delayed_dsn.eml",
        "postfix_dsn.eml",
    ]
    assert [p.name for p in (drop / "refused").iterdir()] == ["not_a_bounce.eml"]
    with services.db.engine.connect() as conn:
        suppressed = conn.execute(select(email_suppressions.c.address, email_suppressions.c.reason)).all()
        statuses = dict(conn.execute(select(messages.c.recipient, messages.c.status)).all())
        complained = conn.execute(select(messages.c.recipient).where(messages.c.complained_at.is_not(None))).all()
        unsubscribed = conn.execute(
            select(channel_subscriptions.c.customer_id).where(channel_subscriptions.c.status == "N")
        ).all()
        (kept,) = conn.execute(select(feedback_reports.c.source, feedback_reports.c.body)).all()
    assert sorted(suppressed) == [("ann@example.com", "hard_bounce"), ("bob@example.com", "complaint")]
    assert statuses["ann@example.com"] == "bounced" and statuses["dave@example.com"] == "sent"  # delayed: retried
    assert complained == [("bob@example.com",)] and unsubscribed == [(people["bob"],)]
    assert kept.source == "mailbox" and "where is my order?" in kept.body


def test_dsn_and_arf_read_without_a_database() -> None:
    now = datetime(2026, 1, 5, tzinfo=UTC)
    (bounce,) = read_bounce((SAMPLES / "postfix_dsn.eml").read_bytes(), now)
    assert (bounce.kind, bounce.recipient, bounce.message_id_header) == (
        "hard_bounce",
        "ann@example.com",
        "{ANN_MESSAGE_ID}",
    )
    (complaint,) = read_bounce((SAMPLES / "arf_complaint.eml").read_bytes(), now)
    assert (complaint.kind, complaint.recipient) == ("complaint", "bob@example.com")
    assert complaint.detail == "abuse reported by SomeGenerator/1.0"
    (delayed,) = read_bounce((SAMPLES / "delayed_dsn.eml").read_bytes(), now)
    assert (delayed.kind, delayed.recipient) == ("soft_bounce", "dave@example.com")
    for garbage in (b"", b"\x00\xff not mail at all", (SAMPLES / "not_a_bounce.eml").read_bytes()):
        try:
            read_bounce(garbage, now)
        except FeedbackInvalid as error:
            assert "no failed recipient" in error.message or "no headers" in error.message
        else:
            raise AssertionError(f"{garbage[:20]!r} was read as a bounce")
