"""What the delivery pipeline needs of a send node, declared by its action.

A send action queues message rows; the pipeline renders and sends them later. It knows the node only through the
``DeliveryRules`` its action declares for the node's config (the ``Sends`` hook of ``core.contracts``): what the
node sends on each channel it queues messages on (templates, rendered per message), whether a message waits for
the delivery window, how long delivery is attempted, and whether the message is an internal note. The pipeline
asks for them through a ``DeliveryRulesOf`` handed to it by the composition root, so it never reads an action's
config, nor the campaign document.

What one message of a node does beyond that is on its row, written when it was queued: a Viber message of a
Viber → SMS cascade carries ``{"mode": "viber_sms"}`` in its payload (only customers who may get SMS fall back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Literal, Protocol

from sqlalchemy import Connection

#: The channels the delivery pipeline sends through (in-app notifications and popups are served by the API); each
#: has its content below and its route in ``delivery.channels``.
Channel = Literal["email", "sms", "viber", "push"]


class Content:
    """What a send node sends on one channel: a frozen dataclass per channel, naming its channel."""

    channel: ClassVar[Channel]


@dataclass(frozen=True)
class EmailContent(Content):
    channel: ClassVar[Channel] = "email"
    subject: str  # Liquid, like every text below that the pipeline renders
    body_html: str
    sender_name: str | None = None  # the account's when None
    sender_email: str | None = None  # the account's when None
    reply_to: str | None = None
    utm: Mapping[str, str] | None = None  # appended to every tracked link
    category: str | None = None  # the mailing category: the list the mail belongs to (List-Id), else the campaign
    track_opens: bool = True  # an open pixel, in mail that has another image (an image-only mail looks like spam)


@dataclass(frozen=True)
class SmsContent(Content):
    channel: ClassVar[Channel] = "sms"
    text: str
    sender: str | None = None  # the settings' when None


@dataclass(frozen=True)
class ViberContent(Content):
    channel: ClassVar[Channel] = "viber"
    text: str
    sender: str | None = None  # the settings' when None
    image_url: str | None = None
    button_text: str | None = None  # Liquid
    button_url: str | None = None


@dataclass(frozen=True)
class PushContent(Content):
    channel: ClassVar[Channel] = "push"
    title: str
    text: str
    link: str | None = None  # Liquid
    image_url: str | None = None


@dataclass(frozen=True)
class DeliveryRules:
    """How the messages of one send node are delivered."""

    #: What the node sends on each channel it queues messages on (one content per channel).
    sends: tuple[Content, ...]
    #: Whether a message (and each retry of it) waits for the account's delivery window in the recipient's time
    #: zone (D16): SMS, Viber and push do unless the node says "deliver immediately"; e-mail never does.
    windowed: bool
    #: How long delivery is attempted; None: the settings' default lifetime, from the first attempt.
    lifetime: timedelta | None = None
    #: A note to a user about a customer (Notify manager): never tracked, no unsubscribe headers, and never
    #: counted as reaching the customer.
    internal: bool = False

    def content(self, channel: str) -> Content | None:
        """What the node sends on ``channel``; None when it sends nothing there."""
        return next((content for content in self.sends if content.channel == channel), None)


class DeliveryRulesOf(Protocol):
    def __call__(self, conn: Connection, campaign_id: int, version: int, node_id: str) -> DeliveryRules | None:
        """The rules of a node of a campaign version; None when the node sends nothing (it is no send node)."""
        ...
