"""A generic JSON-over-HTTP SMS gateway, and the HTTP conventions the Viber and push providers share.

Each message is one ``POST`` to ``TIDINGS_SMS_URL`` with the body ``TIDINGS_SMS_BODY_TEMPLATE`` (JSON in
which ``{to}``, ``{text}``, ``{sender}`` and ``{key}`` are replaced by JSON-escaped values), the header
``TIDINGS_SMS_AUTH_HEADER`` when set, and ``Idempotency-Key: <key>`` so a gateway that honours it drops a
resend of a message whose first attempt was interrupted.

The answer's status decides (``http_result``): 2xx sent (the gateway's id read from ``TIDINGS_SMS_ID_FIELD``
of its JSON); 408, 425, 429 and 5xx transient (retried with back-off, after ``Retry-After`` when given); 401
and 403 transient too (our credentials were refused: retrying until the message's lifetime ends gives an
operator time to fix them); any other status a permanent failure. A timeout or a lost connection is transient.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import httpx

from tidings.core.delivery import Channel
from tidings.core.retry import retry_after_seconds
from tidings.delivery.channels.sms import OutboundSms
from tidings.delivery.providers import Outbox, SendResult, describe, in_parallel
from tidings.model.sms_body import fill
from tidings.settings import Settings

TRANSIENT_STATUSES = frozenset({401, 403, 408, 425, 429})


def auth_headers(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    name, _, value = header.partition(":")
    return {name.strip(): value.strip()}


def json_path(body: Any, path: str) -> str | None:
    for part in path.split("."):
        if not isinstance(body, dict) or part not in body:
            return None
        body = body[part]
    return None if body is None or isinstance(body, dict | list) else str(body)


def http_result(message_id: int, response: httpx.Response, *, id_field: str) -> SendResult:
    """A provider's answer to one message, classified as described in the module docstring."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            body = response.json()
        except ValueError:
            body = None
        return SendResult(message_id, True, provider_message_id=json_path(body, id_field))
    error = f"HTTP {status}: {response.text[:300]}".strip()
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))  # the provider's time
        return SendResult(message_id, False, error=error, transient=True, retry_after=wait)
    return SendResult(message_id, False, error=error)


def connection_failure(message_id: int, url: str, error: Exception) -> SendResult:
    return SendResult(message_id, False, error=f"{url}: {describe(error)}", transient=True)


class HttpSmsProvider:
    name = "sms_http"
    channel: Channel = "sms"
    transactional = False

    def __init__(self, settings: Settings) -> None:
        assert settings.sms_url is not None, "checked by Settings"
        self.url = settings.sms_url
        header = settings.sms_auth_header.get_secret_value() if settings.sms_auth_header else None
        self.headers = auth_headers(header) | {"content-type": "application/json"}
        self.template = settings.sms_body_template
        self.id_field = settings.sms_id_field
        self.timeout = settings.provider_timeout_seconds
        self.concurrency = settings.sms_concurrency

    def body(self, message: OutboundSms) -> str:
        values = {"to": message.recipient, "text": message.text, "sender": message.sender}
        return fill(self.template, values | {"key": message.idempotency_key})

    async def send(self, outbox: Outbox[OutboundSms]) -> AsyncGenerator[SendResult, None]:
        async with httpx.AsyncClient(timeout=self.timeout, headers=self.headers) as client:

            async def send_one(message: OutboundSms) -> SendResult:
                try:
                    response = await client.post(
                        self.url,
                        content=self.body(message).encode(),
                        headers={"idempotency-key": message.idempotency_key},
                    )
                except httpx.HTTPError as error:
                    return connection_failure(message.message_id, self.url, error)
                return http_result(message.message_id, response, id_field=self.id_field)

            async for result in in_parallel(outbox, self.concurrency, send_one):
                yield result
