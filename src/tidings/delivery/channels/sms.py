"""SMS: the ``send_sms`` node's ``SmsContent``, composed into an ``OutboundSms`` and sent through the sandbox or a
JSON HTTP gateway (``TIDINGS_SMS_PROVIDER=http``, ``delivery.sms_http``). The sender is the node's, else
``TIDINGS_SMS_SENDER``.

The SMS of a Viber → SMS cascade is the cascade's Viber message switched to SMS in place (``delivery.pipeline``);
to the gateway it is a message of its own, so its idempotency key ends in ``.sms``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.core.delivery import SmsContent
from tidings.delivery.channels.route import Chunk, Claimed, Compose, Route
from tidings.delivery.providers import ChannelProvider, Outbound, SandboxProvider
from tidings.settings import Settings


@dataclass(frozen=True)
class OutboundSms(Outbound):
    recipient: str  # E.164
    sender: str
    text: str

    def stored(self) -> tuple[str | None, str]:
        return None, self.text


class SmsRoute(Route[SmsContent, OutboundSms]):
    content = SmsContent

    def __init__(self, settings: Settings) -> None:
        super().__init__(_provider(settings), settings.sms_rate_limit)
        self.sender = settings.sms_sender

    def composer(self, chunk: Chunk) -> Compose[SmsContent, OutboundSms]:
        return self.compose

    def compose(self, content: SmsContent, message: Claimed) -> OutboundSms:
        key = message.idempotency_key
        if (message.payload or {}).get("viber") is not None:  # what became of the Viber attempt it replaces
            key += ".sms"
        sender = content.sender or self.sender
        return OutboundSms(message.message_id, key, message.recipient, sender, message.render(content.text))


def _provider(settings: Settings) -> ChannelProvider[OutboundSms]:
    if settings.sms_provider == "http":
        from tidings.delivery.sms_http import HttpSmsProvider  # httpx is loaded only by a process that uses it

        return HttpSmsProvider(settings)
    return SandboxProvider("sms")
