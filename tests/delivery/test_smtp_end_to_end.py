"""A campaign run by the engine on the manual clock, delivered through SmtpProvider to a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.delivery.conftest import SmtpServer
from tests.engine.helpers import add_customers, advance, campaign, email_node, mailbox_count, start
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.tables import messages


@pytest.fixture
def smtp_services(database_url: str, clock: ManualClock, smtp_server: SmtpServer) -> Iterator[Services]:
    settings = Settings(
        database_url=database_url,
        clock="manual",
        email_provider="smtp",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
    )
    built = Services.build(settings, clock=clock)
    yield built
    built.close()


def test_a_campaign_is_delivered_over_smtp(smtp_services: Services, smtp_server: SmtpServer) -> None:
    services = smtp_services
    add_customers(
        services,
        {"external_id": "ann", "email": "ann@example.com", "first_name": "Ann"},
        {"external_id": "bob", "email": "bob@example.com", "first_name": "Bob"},
    )
    campaign_id = start(services, campaign(email_node("welcome"), edges=[("trigger", "welcome")]))
    assert services.campaigns.enroll(campaign_id, ["ann", "bob"], None)["entered"] == 2

    advance(services, minutes=1)

    by_recipient = {r.rcpt_tos[0]: r for r in smtp_server.received}
    assert len(smtp_server.received) == 2
    assert sorted(by_recipient) == ["ann@example.com", "bob@example.com"]
    assert all(len(r.rcpt_tos) == 1 for r in smtp_server.received)
    assert by_recipient["ann@example.com"].mail_from == "campaigns@tidings.local"

    ann = by_recipient["ann@example.com"].message
    assert str(ann["Subject"]) == "Hello Ann"
    assert str(by_recipient["bob@example.com"].message["Subject"]) == "Hello Bob"
    assert str(ann["From"]) == "Tidings <campaigns@tidings.local>"
    html = ann.get_body(preferencelist=("html",))
    plain = ann.get_body(preferencelist=("plain",))
    assert html is not None and html.get_content() == "<p>Hi</p>\r\n"  # no image of its own: no open pixel
    assert plain is not None and plain.get_content().strip() == "Hi"
    message_id = ann["Message-ID"]  # on the sender's domain, not the server's host
    assert message_id.startswith(f"<{campaign_id}.") and message_id.endswith("@tidings.local>")
    assert ann["List-Id"] == f"<campaign-{campaign_id}.tidings.local>"
    assert ann["Feedback-ID"] == f"{campaign_id}:welcome:email:tidings"
    assert ann["Precedence"] == "bulk"
    key = message_id[1:].split("@")[0]
    with services.db.engine.connect() as conn:
        ann_message = conn.execute(select(messages.c.id).where(messages.c.recipient == "ann@example.com")).scalar_one()
    unsubscribe = services.delivery.tracker.unsubscribe_url(ann_message)
    assert ann["List-Unsubscribe"] == f"<mailto:campaigns@tidings.local?subject=unsubscribe%20{key}>, <{unsubscribe}>"
    assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    with services.db.engine.connect() as conn:
        rows = conn.execute(
            select(
                messages.c.recipient, messages.c.status, messages.c.provider, messages.c.provider_message_id
            ).order_by(messages.c.recipient)
        ).all()
    assert [(r.recipient, r.status, r.provider) for r in rows] == [
        ("ann@example.com", "sent", "smtp"),
        ("bob@example.com", "sent", "smtp"),
    ]
    assert rows[0].provider_message_id == message_id
    assert mailbox_count(services) == 0  # nothing went to the sandbox mailbox

    advance(services, minutes=10)  # nothing is sent twice
    assert len(smtp_server.received) == 2
