"""Viber: the ``send_sms`` node's ``ViberContent`` (modes ``viber`` and ``viber_sms``), composed into an
``OutboundViber`` and sent through the sandbox or a JSON HTTP gateway (``TIDINGS_VIBER_PROVIDER=http``,
``delivery.viber``). The sender is the node's, else ``TIDINGS_SMS_SENDER``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.core.delivery import ViberContent
from tidings.delivery.channels.route import Chunk, Claimed, Compose, Route
from tidings.delivery.providers import ChannelProvider, Outbound, SandboxProvider
from tidings.settings import Settings


@dataclass(frozen=True)
class OutboundViber(Outbound):
    recipient: str  # E.164
    sender: str
    text: str
    image_url: str | None = None
    button_text: str | None = None
    button_url: str | None = None

    def stored(self) -> tuple[str | None, str]:
        return None, self.text


class ViberRoute(Route[ViberContent, OutboundViber]):
    content = ViberContent

    def __init__(self, settings: Settings) -> None:
        super().__init__(_provider(settings), settings.viber_rate_limit)
        self.sender = settings.sms_sender

    def composer(self, chunk: Chunk) -> Compose[ViberContent, OutboundViber]:
        return self.compose

    def compose(self, content: ViberContent, message: Claimed) -> OutboundViber:
        return OutboundViber(
            message.message_id,
            message.idempotency_key,
            message.recipient,
            content.sender or self.sender,
            message.render(content.text),
            image_url=content.image_url,
            button_text=message.render(content.button_text) if content.button_text else None,
            button_url=content.button_url,
        )


def _provider(settings: Settings) -> ChannelProvider[OutboundViber]:
    if settings.viber_provider == "http":
        from tidings.delivery.viber import ViberProvider  # httpx is loaded only by a process that uses it

        return ViberProvider(settings)
    return SandboxProvider("viber")
