"""The channels the pipeline delivers, one module each (``email``, ``sms``, ``viber``, ``push``), and the routes
built from the settings.

A channel's module holds its ``Outbound`` type, how a claimed message is composed from its content (the
``core.delivery`` dataclass its send nodes declare), and which provider the settings choose (``route.Route``).
Every channel defaults to the sandbox. ``TIDINGS_EMAIL_PROVIDER=smtp``, ``TIDINGS_SMS_PROVIDER=http``,
``TIDINGS_VIBER_PROVIDER=http`` and ``TIDINGS_PUSH_PROVIDER=fcm`` pick the real ones; ``TIDINGS_<CHANNEL>_RATE_LIMIT``
caps each at so many messages a second per worker, and ``TIDINGS_<CHANNEL>_CONCURRENCY`` sets how many requests
an HTTP provider keeps in flight (``TIDINGS_SMTP_CONNECTIONS`` for SMTP, each connection carrying one message at a
time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidings.core.delivery import Channel
from tidings.delivery.channels.email import EmailRoute
from tidings.delivery.channels.push import PushRoute
from tidings.delivery.channels.route import Route
from tidings.delivery.channels.sms import SmsRoute
from tidings.delivery.channels.viber import ViberRoute
from tidings.settings import Settings

#: Every channel's route, in delivery order.
ROUTES: tuple[Callable[[Settings], Route[Any, Any]], ...] = (EmailRoute, SmsRoute, ViberRoute, PushRoute)


def build_routes(settings: Settings) -> dict[Channel, Route[Any, Any]]:
    """The route of every channel the pipeline delivers, in delivery order."""
    routes = [route(settings) for route in ROUTES]
    return {route.channel: route for route in routes}
