"""Viber over a JSON HTTP gateway, in the style of the SMS one (``delivery.sms_http``).

Each message is one ``POST`` to ``TIDINGS_VIBER_URL``::

    {"to": "+37120000000", "sender": "Shop", "text": "…", "image_url": "…", "button": {"text": "…", "url": "…"},
     "reference": "<idempotency key>"}

(``image_url`` and ``button`` only when the action sets them), with ``TIDINGS_VIBER_AUTH_HEADER`` and
``Idempotency-Key``. The answer is classified like an SMS gateway's; a permanent refusal (typically "not a
Viber user") is what makes a Viber → SMS cascade send the SMS instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from tidings.core.delivery import Channel
from tidings.delivery.channels.viber import OutboundViber
from tidings.delivery.providers import Outbox, SendResult, in_parallel
from tidings.delivery.sms_http import auth_headers, connection_failure, http_result
from tidings.settings import Settings


class ViberProvider:
    name = "viber"
    channel: Channel = "viber"
    transactional = False

    def __init__(self, settings: Settings) -> None:
        assert settings.viber_url is not None, "checked by Settings"
        self.url = settings.viber_url
        header = settings.viber_auth_header.get_secret_value() if settings.viber_auth_header else None
        self.headers = auth_headers(header) | {"content-type": "application/json"}
        self.timeout = settings.provider_timeout_seconds
        self.concurrency = settings.viber_concurrency

    @staticmethod
    def body(message: OutboundViber) -> dict[str, Any]:
        body: dict[str, Any] = {"to": message.recipient, "sender": message.sender, "text": message.text}
        if message.image_url:
            body["image_url"] = message.image_url
        if message.button_text and message.button_url:
            body["button"] = {"text": message.button_text, "url": message.button_url}
        return body | {"reference": message.idempotency_key}

    async def send(self, outbox: Outbox[OutboundViber]) -> AsyncGenerator[SendResult, None]:
        async with httpx.AsyncClient(timeout=self.timeout, headers=self.headers) as client:

            async def send_one(message: OutboundViber) -> SendResult:
                try:
                    response = await client.post(
                        self.url,
                        content=json.dumps(self.body(message), ensure_ascii=False).encode(),
                        headers={"idempotency-key": message.idempotency_key},
                    )
                except httpx.HTTPError as error:
                    return connection_failure(message.message_id, self.url, error)
                return http_result(message.message_id, response, id_field="id")

            async for result in in_parallel(outbox, self.concurrency, send_one):
                yield result
