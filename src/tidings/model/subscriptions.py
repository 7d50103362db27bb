"""Consent and contacts as accepted by the API: channel and mailing-category subscriptions (spec 5.2), mailing
categories and push tokens.

Statuses, as in the spec's API model:

* a channel is ``Y`` (subscribed) or ``N`` (unsubscribed); a channel never set is subscribed (``Y``) — the
  loyalty system subscribes a customer to everything at registration, and conditions read it the same way;
* a category × channel is ``Y`` or ``N``, and ``ND`` removes the customer from the category on that channel; a
  category needs an explicit ``Y`` to be received, so a customer outside it never gets it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tidings.model.customers import Channel

ChannelStatus = Literal["Y", "N"]
CategoryStatus = Literal["Y", "N", "ND"]
Platform = Literal["fcm", "apns", "hms", "rustore"]

#: A mailing category's code, as written in campaign documents and conditions (``category: news``).
CATEGORY_CODE = r"^[a-z][a-z0-9_]*$"

#: Node types whose ``config.category`` names a mailing category.
MESSAGE_NODE_TYPES = frozenset({"send_email", "send_sms", "send_push", "send_notification"})


ChannelStatuses = Annotated[
    dict[Channel, ChannelStatus],
    Field(min_length=1, description="Per channel: Y subscribes, N unsubscribes; channels left out stay unchanged."),
]
CategoryChannels = Annotated[
    dict[Channel, CategoryStatus],
    Field(min_length=1, description="Per channel: Y, N, or ND (remove from the category on that channel)."),
]
CategoryStatuses = Annotated[
    dict[str, CategoryChannels],
    Field(min_length=1, description="Per category code; categories left out stay unchanged."),
]


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Mailing category")
    code: str = Field(
        min_length=1,
        max_length=64,
        pattern=CATEGORY_CODE,
        description="What message nodes and conditions name: a-z, 0-9 and _, starting with a letter.",
    )
    name: str = Field(min_length=1, max_length=200, description="What customers and marketers see, e.g. `News`.")
    description: str | None = Field(default=None, max_length=2000)


class CategoryPatch(BaseModel):
    """The code is the key campaign documents use, so it never changes; name and description may."""

    model_config = ConfigDict(extra="forbid", title="Mailing category change")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000, description="null clears it.")

    @model_validator(mode="after")
    def _something(self) -> CategoryPatch:
        if not self.model_fields_set:
            raise ValueError("give name and/or description to change")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self


class SubscriptionChange(BaseModel):
    """What one customer's consent becomes: only the channels and categories given change."""

    model_config = ConfigDict(extra="forbid", title="Subscription change")
    channels: ChannelStatuses | None = None
    categories: CategoryStatuses | None = None

    @model_validator(mode="after")
    def _something(self) -> SubscriptionChange:
        if not self.channels and not self.categories:
            raise ValueError("give channels and/or categories to change")
        return self


class SubscriptionRow(SubscriptionChange):
    model_config = ConfigDict(extra="forbid", title="Subscription change of a customer")
    customer: str = Field(min_length=1, max_length=128, description="The customer's external id.")


class PushContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Push token")
    type: Literal["push"] = Field(
        description="Only push tokens are contacts here; e-mail and phone are profile fields."
    )
    platform: Platform = Field(description="fcm | apns | hms | rustore")
    token: str = Field(min_length=1, max_length=512, description="The device token the push provider issued.")
    device: str | None = Field(default=None, max_length=200, description="e.g. `Pixel 8`, shown in the list.")

    @field_validator("token")
    @classmethod
    def _no_blank(cls, value: str) -> str:
        if value.strip() != value or any(char.isspace() for char in value):
            raise ValueError("a push token contains no white space")
        return value


def mentions_category(document: Any, code: str) -> bool:
    """Whether a campaign document uses mailing category ``code``: a message node's ``config.category``, or a
    subscription condition ``{subscription: {channel, category}}`` anywhere (trigger, filters)."""
    if not isinstance(document, dict):
        return False
    for node in document.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        config = node.get("config")
        if node.get("type") in MESSAGE_NODE_TYPES and isinstance(config, dict) and config.get("category") == code:
            return True
    return _subscription_mentions(document, code)


def _subscription_mentions(value: Any, code: str) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            target = item.get("subscription")
            if isinstance(target, dict) and target.get("category") == code:
                return True
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
