"""Which provider serves each channel, and at what pace: built once from the settings.

Every channel defaults to the sandbox. ``TIDINGS_EMAIL_PROVIDER=smtp``, ``TIDINGS_SMS_PROVIDER=http``,
``TIDINGS_VIBER_PROVIDER=http`` and ``TIDINGS_PUSH_PROVIDER=fcm`` pick the real ones; ``TIDINGS_<CHANNEL>_RATE_LIMIT``
caps each at so many messages a second per worker, and ``TIDINGS_<CHANNEL>_CONCURRENCY`` sets how many requests
an HTTP provider keeps in flight (``TIDINGS_SMTP_CONNECTIONS`` for SMTP, each connection carrying one message at a
time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.core.delivery import Channel
from tidings.delivery.providers import ChannelProvider, SandboxProvider
from tidings.delivery.rate_limit import RateLimit
from tidings.settings import Settings


@dataclass(frozen=True)
class Route:
    provider: ChannelProvider[Any]
    rate_limit: RateLimit


def build_routes(settings: Settings) -> dict[Channel, Route]:
    """The route of every channel the pipeline delivers, in delivery order."""
    email: ChannelProvider[Any] = SandboxProvider("email")
    sms: ChannelProvider[Any] = SandboxProvider("sms")
    viber: ChannelProvider[Any] = SandboxProvider("viber")
    push: ChannelProvider[Any] = SandboxProvider("push")
    if settings.email_provider == "smtp":
        from tidings.delivery.smtp import SmtpProvider

        email = SmtpProvider(settings)
    if settings.sms_provider == "http":
        from tidings.delivery.sms_http import HttpSmsProvider

        sms = HttpSmsProvider(settings)
    if settings.viber_provider == "http":
        from tidings.delivery.viber import ViberProvider

        viber = ViberProvider(settings)
    if settings.push_provider == "fcm":
        from tidings.delivery.push_fcm import FcmProvider

        push = FcmProvider(settings)
    return {
        "email": Route(email, RateLimit(settings.email_rate_limit)),
        "sms": Route(sms, RateLimit(settings.sms_rate_limit)),
        "viber": Route(viber, RateLimit(settings.viber_rate_limit)),
        "push": Route(push, RateLimit(settings.push_rate_limit)),
    }
