"""Bounces and complaints from Amazon SES (SNS), SendGrid, Mailgun and Postmark, sent by local fakes that sign the
providers' documented sample payloads as the providers do, to the real app over HTTP, on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import credentials, serve
from tests.api.feedback_fakes import FakeMailgun, FakePostmark, FakeProvider, FakeSendGrid, FakeSns, sns_endpoint
from tests.engine.helpers import add_customers, advance, campaign, email_node, start, trace_rows
from tidings.api.app import create_app
from tidings.core.clock import ManualClock
from tidings.services import Services
from tidings.settings import Settings
from tidings.store.tables import channel_subscriptions, email_suppressions, feedback_reports, messages

#: A signed body that is not what the provider sends, and the words the refusal must name.
MALFORMED = {
    "ses": (b'{"notificationType": "Bounce", "mail": {}}', "the field 'bounce' is missing"),
    "sendgrid": (b'[{"event": "bounce", "timestamp": 1}]', "sendgrid event 0: the field 'email' is missing"),
    "mailgun": (b'{"event": "failed", "recipient": "a@b.example"}', "the field 'severity' is missing"),
    "postmark": (b'{"RecordType": "Bounce", "Email": 42}', "the field 'Inactive' is missing"),
}


@pytest.fixture
def sns() -> Iterator[FakeSns]:
    with sns_endpoint() as fake:
        yield fake


@pytest.fixture
def fakes(sns: FakeSns) -> dict[str, FakeProvider]:
    return {"ses": sns, "sendgrid": FakeSendGrid(), "mailgun": FakeMailgun(), "postmark": FakePostmark()}


@pytest.fixture
def feedback_services(database_url: str, clock: ManualClock, fakes: dict[str, FakeProvider]) -> Iterator[Services]:
    configured: dict[str, Any] = {}
    for fake in fakes.values():
        configured |= fake.settings()
    built = Services.build(Settings(database_url=database_url, clock="manual", **configured), clock=clock)
    yield built
    built.close()


def message_id_header(services: Services, recipient: str) -> tuple[int, str]:
    """(id, the Message-ID SMTP gave it) of the e-mail sent to ``recipient``."""
    query = select(messages.c.id, messages.c.campaign_id, messages.c.entry_id, messages.c.node_id).where(
        messages.c.recipient == recipient
    )
    with services.db.engine.connect() as conn:
        row = conn.execute(query).one()
    return row.id, f"<{row.campaign_id}.{row.entry_id}.{row.node_id}.{row.id}@tidings.local>"


def state(services: Services) -> dict[str, Any]:
    """Everything a report may change."""
    with services.db.engine.connect() as conn:
        return {
            "suppressed": sorted(conn.execute(select(email_suppressions.c.address, email_suppressions.c.reason)).all()),
            "messages": sorted(
                conn.execute(select(messages.c.recipient, messages.c.status, messages.c.complained_at)).all()
            ),
            "subscriptions": sorted(
                conn.execute(select(channel_subscriptions.c.customer_id, channel_subscriptions.c.status)).all()
            ),
            "refused": conn.execute(select(feedback_reports.c.id)).all(),
        }


@pytest.mark.parametrize("source", ["ses", "sendgrid", "mailgun", "postmark"])
def test_a_providers_signed_bounce_suppresses_a_tampered_one_is_refused_a_complaint_counts(
    source: str, feedback_services: Services, fakes: dict[str, FakeProvider], clock: ManualClock
) -> None:
    services, fake = feedback_services, fakes[source]
    people = add_customers(
        services,
        {"external_id": "ann", "email": "ann@example.com"},
        {"external_id": "bob", "email": "bob@example.com"},
    )
    campaign_id = start(services, campaign(email_node("e1"), edges=[("trigger", "e1")]))
    services.campaigns.enroll(campaign_id, ["ann", "bob"], None)
    advance(services, minutes=1)
    ann_message, ann_header = message_id_header(services, "ann@example.com")
    _, bob_header = message_id_header(services, "bob@example.com")
    now: datetime = clock.now()

    with serve(create_app(services=services)) as origin:
        before = state(services)
        tampered = fake.post(origin, fake.bounce("ann@example.com", ann_header, now), now, tamper=True)
        assert tampered.status_code == 401, tampered.text
        assert tampered.json()["error"]["code"] == "feedback.signature_invalid"
        assert state(services) == before  # nothing changed, nothing kept

        bounced = fake.post(origin, fake.bounce("ann@example.com", ann_header, now), now)
        assert bounced.status_code == 200, bounced.text
        assert bounced.json() == {"applied": 1, "suppressed": 1, "ignored": 0}
        complained = fake.post(origin, fake.complaint("bob@example.com", bob_header, now), now)
        assert complained.status_code == 200, complained.text

        after = state(services)
        assert after["suppressed"] == [("ann@example.com", "hard_bounce"), ("bob@example.com", "complaint")]
        assert [(r, s) for r, s, _ in after["messages"]] == [
            ("ann@example.com", "bounced"),
            ("bob@example.com", "sent"),
        ]
        assert after["messages"][1][2] is not None  # bob's complaint is flagged on his message
        assert (people["bob"], "N") in after["subscriptions"]  # and he is unsubscribed from e-mail
        assert (people["ann"], "N") not in after["subscriptions"]  # a bounce is no unsubscribe

        with httpx.Client(base_url=f"{origin}/api/v1", headers=credentials(services), timeout=30) as api:
            report = api.get(f"/campaigns/{campaign_id}/report").json()["emails"]
            assert report == {"sent": 2, "delivered": 0, "bounced": 1, "complaints": 1, "unsubscribed": 0}
            suppressed = api.get("/suppressions").json()
            first = suppressed[0]
            assert (first["address"], first["source"], first["message_id"]) == ("ann@example.com", source, ann_message)

    # the suppressed address is not sent to again: the send node drops ann with a reason
    again = start(services, campaign(email_node("e2"), edges=[("trigger", "e2")]) | {"name": "Again"})
    services.campaigns.enroll(again, ["ann"], None)
    advance(services, minutes=1)
    assert [(r["node_id"], r["reason"]) for r in trace_rows(services, people["ann"], again)][-1] == (
        "e2",
        "suppressed_address",
    )


@pytest.mark.parametrize("source", ["ses", "sendgrid", "mailgun", "postmark"])
def test_a_malformed_signed_report_is_refused_naming_the_fault_and_kept(
    source: str, feedback_services: Services, fakes: dict[str, FakeProvider], clock: ManualClock
) -> None:
    services, fake = feedback_services, fakes[source]
    body, words = MALFORMED[source]
    now = clock.now()
    with serve(create_app(services=services)) as origin:
        refused = fake.post(origin, None, now, raw=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "feedback.invalid"
        assert words in refused.json()["error"]["message"]
        unknown = fake.post(origin, fake.complaint("nobody@example.com", "<1.2.e1.3@tidings.local>", now), now)
        # a complaint about mail we never sent still suppresses the address (it asked not to be mailed)
        assert unknown.status_code == 200, unknown.text
        with httpx.Client(base_url=f"{origin}/api/v1", headers=credentials(services), timeout=30) as api:
            (kept,) = api.get("/feedback/refused").json()
    assert kept["source"] == source and words in kept["error"]
    # the body as it arrived (SNS and Mailgun wrap the report in their signed envelopes, SNS as a JSON string)
    assert body.decode() in kept["body"] or json.dumps(body.decode())[1:-1] in kept["body"]
    assert state(services)["suppressed"] == [("nobody@example.com", "complaint")]


def test_unconfigured_sources_say_which_setting_to_set(services: Services) -> None:
    with serve(create_app(services=services)) as origin, httpx.Client(timeout=30, trust_env=False) as http:
        for source, setting in (
            ("ses", "TIDINGS_SES_TOPIC_ARNS"),
            ("sendgrid", "TIDINGS_SENDGRID_WEBHOOK_PUBLIC_KEY"),
            ("mailgun", "TIDINGS_MAILGUN_WEBHOOK_SIGNING_KEY"),
            ("postmark", "TIDINGS_POSTMARK_WEBHOOK_CREDENTIALS"),
        ):
            answer = http.post(f"{origin}/api/v1/feedback/{source}", content=b"{}")
            assert answer.status_code == 404 and setting in answer.json()["error"]["message"], answer.text


def test_sns_subscriptions_are_confirmed_and_foreign_certificates_refused(
    feedback_services: Services, sns: FakeSns, clock: ManualClock
) -> None:
    now = clock.now()
    with serve(create_app(services=feedback_services)) as origin, httpx.Client(timeout=30, trust_env=False) as http:
        confirmed = http.post(f"{origin}/api/v1/feedback/ses", content=sns.subscription(now))
        assert confirmed.status_code == 200, confirmed.text
        assert len(sns.confirmations) == 1 and "Action=ConfirmSubscription" in sns.confirmations[0]

        body, headers = sns.request(sns.bounce("ann@example.com", "<1.1.e1.1@tidings.local>", now), now)
        foreign = body.replace(sns.base_url.encode(), b"https://attacker.example")
        refused = http.post(f"{origin}/api/v1/feedback/ses", content=foreign, headers=headers)
        assert refused.status_code == 401 and "not an Amazon SNS address" in refused.json()["error"]["message"]
