"""What a channel's module under ``delivery.channels`` provides: its ``Route`` through the delivery pipeline.

A route names the content the channel's send nodes declare (a ``core.delivery.Content``), composes a claimed
message from it into the channel's ``Outbound`` type (rendering the node's templates for the recipient), and
carries the provider the settings chose for the channel and its pace. The pipeline knows a channel only through
its route.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from sqlalchemy import Connection

from tidings.core.account import AccountSettings
from tidings.core.delivery import Channel, Content
from tidings.core.dialect import Dialect
from tidings.delivery.providers import ChannelProvider, Outbound
from tidings.delivery.rate_limit import RateLimit
from tidings.delivery.tracking import Tracker

C = TypeVar("C", bound=Content)
M = TypeVar("M", bound=Outbound)


@dataclass(frozen=True)
class Chunk:
    """A claimed chunk of one channel, as its messages are composed: in the pipeline's open transaction."""

    conn: Connection
    dialect: Dialect
    ids: Sequence[int]
    account: AccountSettings
    tracker: Tracker


@dataclass(frozen=True)
class Claimed:
    """One claimed message, as its channel composes it."""

    message_id: int
    campaign_id: int
    node_id: str
    idempotency_key: str  # campaign, entry, node and message: the same for every attempt
    recipient: str
    payload: Mapping[str, Any] | None
    internal: bool  # its node's rules: a note to a user about a customer (never tracked)
    render: Callable[[str], str]  # a template of its node, rendered for its recipient; raises ``TemplateError``


#: Composes one claimed message from what its node sends on the channel.
Compose: TypeAlias = Callable[[C, Claimed], M]


class Route(ABC, Generic[C, M]):
    """One channel's way through the pipeline: its ``content`` type, how a message is composed from it, the
    ``provider`` that sends it and the ``rate_limit`` it is paced at (both chosen from the settings)."""

    content: type[C]

    def __init__(self, provider: ChannelProvider[M], rate: float) -> None:
        self.provider = provider
        self.rate_limit = RateLimit(rate)

    @property
    def channel(self) -> Channel:
        return self.content.channel

    @abstractmethod
    def composer(self, chunk: Chunk) -> Compose[C, M]:
        """How the messages of ``chunk`` are composed; what they need beyond their rows is read here, once per
        chunk."""
