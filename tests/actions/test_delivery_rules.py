"""What each send action tells the delivery pipeline about its messages (``core.delivery.DeliveryRules``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tidings.actions.notify_manager import NotifyManager, NotifyManagerConfig
from tidings.actions.send_email import SendEmail, SendEmailConfig
from tidings.actions.send_push import SendPush, SendPushConfig
from tidings.actions.send_sms import SendSms, SendSmsConfig
from tidings.core.contracts import Sends
from tidings.core.delivery import DeliveryRules, EmailContent, PushContent, SmsContent, ViberContent
from tidings.document.campaign import CampaignDocument
from tidings.document.registry import ACTIONS


def test_exactly_the_actions_that_queue_message_rows_declare_delivery_rules() -> None:
    # in-app notifications and popups are rows of their own tables, served by the API, never delivered
    assert sorted(t for t, action in ACTIONS.items() if isinstance(action, Sends)) == [
        "notify_manager",
        "send_email",
        "send_push",
        "send_sms",
    ]


def test_sms_sends_on_the_channels_of_its_mode_and_waits_for_the_window_unless_immediate() -> None:
    def rules(**config: Any) -> DeliveryRules:
        return SendSms().delivery_rules(SendSmsConfig.model_validate({"text": "Hi {{ x }}", **config}))

    assert rules().sends == (SmsContent("Hi {{ x }}"),)
    assert (rules().windowed, rules().lifetime, rules().internal) == (True, None, False)  # the spec's defaults
    assert rules(deliver_immediately=True).windowed is False
    assert rules(lifetime={"amount": 90, "unit": "minutes"}).lifetime == timedelta(minutes=90)
    viber = {"viber_image_url": "https://x/i.png", "viber_button_text": "Go {{ x }}", "viber_button_url": "https://x"}
    expected = ViberContent("Hi {{ x }}", "Shop", "https://x/i.png", "Go {{ x }}", "https://x")
    assert rules(mode="viber", sender="Shop", **viber).sends == (expected,)
    cascade = rules(mode="viber_sms", sender="Shop", **viber)
    assert cascade.sends == (expected, SmsContent("Hi {{ x }}", "Shop"))
    assert (cascade.content("viber"), cascade.content("sms"), cascade.content("email")) == (
        expected,
        SmsContent("Hi {{ x }}", "Shop"),
        None,
    )


def test_push_waits_for_the_window_unless_immediate() -> None:
    def rules(**config: Any) -> DeliveryRules:
        fields = {"title": "T {{ x }}", "text": "Body", "link": "app://cart", "image_url": "https://x/i.png"}
        return SendPush().delivery_rules(SendPushConfig.model_validate(fields | config))

    assert rules().sends == (PushContent("T {{ x }}", "Body", "app://cart", "https://x/i.png"),)
    assert (rules().windowed, rules().lifetime) == (True, None)
    immediate = rules(deliver_immediately=True, lifetime={"amount": 2, "unit": "days"})
    assert (immediate.windowed, immediate.lifetime) == (False, timedelta(days=2))


def test_email_has_no_window_and_is_tracked_with_its_utm_parameters() -> None:
    config = SendEmailConfig.model_validate(
        {"subject": "S", "body_html": "<p>B</p>", "reply_to": "r@x.io", "utm": {"source": "news"}}
    )
    rules = SendEmail().delivery_rules(config)
    assert rules.sends == (EmailContent("S", "<p>B</p>", reply_to="r@x.io", utm={"utm_source": "news"}),)
    assert (rules.windowed, rules.lifetime, rules.internal) == (False, None, False)


def test_a_managers_note_is_an_internal_email_without_window_or_utm() -> None:
    config = NotifyManagerConfig(subject="Call {{ x }}", body_html="<p>B</p>", sender_name="CRM")
    rules = NotifyManager().delivery_rules(config)
    assert rules.sends == (EmailContent("Call {{ x }}", "<p>B</p>", sender_name="CRM"),)
    assert (rules.windowed, rules.internal) == (False, True)


def test_the_document_answers_for_its_send_nodes_only() -> None:
    document = CampaignDocument.model_validate(
        {
            "name": "c",
            "trigger": {"type": "api_enrollment", "config": {}},
            "nodes": [
                {"id": "s1", "type": "send_sms", "config": {"text": "Hi"}},
                {"id": "w1", "type": "wait", "config": {"amount": 1, "unit": "days"}},
            ],
        }
    )
    rules = document.delivery_rules("s1")
    assert rules is not None and rules.sends == (SmsContent("Hi"),)
    assert document.delivery_rules("w1") is None
    assert document.delivery_rules(document.trigger.id) is None
