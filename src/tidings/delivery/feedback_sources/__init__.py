"""The providers whose webhooks report bounces, complaints and deliveries (``delivery.feedback``), by name."""

from __future__ import annotations

from tidings.delivery.feedback import FeedbackSource
from tidings.delivery.feedback_sources.mailgun import Mailgun
from tidings.delivery.feedback_sources.postmark import Postmark
from tidings.delivery.feedback_sources.sendgrid import SendGrid
from tidings.delivery.feedback_sources.ses import Ses
from tidings.settings import Settings

SOURCES: tuple[type[FeedbackSource], ...] = (Ses, SendGrid, Mailgun, Postmark)


def build_sources(settings: Settings) -> dict[str, FeedbackSource]:
    """Every source, configured from the settings (one not configured refuses every request, saying which
    setting to set)."""
    return {
        "ses": Ses(settings),
        "sendgrid": SendGrid(settings),
        "mailgun": Mailgun(settings),
        "postmark": Postmark(settings),
    }
