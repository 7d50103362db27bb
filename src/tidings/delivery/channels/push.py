"""Push: the ``send_push`` node's ``PushContent``, composed into an ``OutboundPush`` for the recipient's active
device tokens and sent through the sandbox or an FCM-compatible API (``TIDINGS_PUSH_PROVIDER=fcm``,
``delivery.push_fcm``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.core.delivery import PushContent
from tidings.delivery.channels.route import Chunk, Claimed, Compose, Route
from tidings.delivery.providers import ChannelProvider, Outbound, SandboxProvider
from tidings.settings import Settings
from tidings.store import messages as message_sql


@dataclass(frozen=True)
class OutboundPush(Outbound):
    tokens: tuple[str, ...]  # the customer's active device tokens
    title: str
    text: str
    link: str | None = None
    image_url: str | None = None

    def stored(self) -> tuple[str | None, str]:
        return self.title, self.text


class PushRoute(Route[PushContent, OutboundPush]):
    content = PushContent

    def __init__(self, settings: Settings) -> None:
        super().__init__(_provider(settings), settings.push_rate_limit)

    def composer(self, chunk: Chunk) -> Compose[PushContent, OutboundPush]:
        tokens: dict[int, list[str]] = {}
        for message_id, token in chunk.conn.execute(message_sql.push_tokens_of(chunk.dialect, chunk.ids)):
            tokens.setdefault(message_id, []).append(token)

        def compose(content: PushContent, message: Claimed) -> OutboundPush:
            return OutboundPush(
                message.message_id,
                message.idempotency_key,
                tuple(tokens.get(message.message_id, [])),
                message.render(content.title),
                message.render(content.text),
                link=message.render(content.link) if content.link else None,
                image_url=content.image_url,
            )

        return compose


def _provider(settings: Settings) -> ChannelProvider[OutboundPush]:
    if settings.push_provider == "fcm":
        from tidings.delivery.push_fcm import FcmProvider  # httpx is loaded only by a process that uses it

        return FcmProvider(settings)
    return SandboxProvider("push")
