"""Push through an FCM-HTTP-v1-compatible API.

Each device token of a message is one ``POST {TIDINGS_FCM_URL}/messages:send`` with
``Authorization: Bearer <TIDINGS_FCM_ACCESS_TOKEN>`` and the body::

    {"message": {"token": "<device token>",
                 "notification": {"title": "…", "body": "…", "image": "…"},
                 "data": {"message_id": "42", "idempotency_key": "…", "link": "…"}}}

FCM has no idempotency header; the key travels in ``data`` so the app can drop a repeated notification.

The message is sent when at least one token accepted it (spec 2.11); the provider's id is the first accepted
``name``. A token FCM answers ``UNREGISTERED`` is reported dead and the pipeline deactivates it. When no token
accepted: transient if any failure was transient (all tokens are tried again later), else a permanent failure.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from tidings.core.delivery import Channel
from tidings.delivery.channels.push import OutboundPush
from tidings.delivery.providers import Outbox, SendResult, in_parallel
from tidings.delivery.sms_http import connection_failure, http_result
from tidings.settings import Settings

UNREGISTERED = "UNREGISTERED"


def fcm_error_code(response: httpx.Response) -> str | None:
    """``errorCode`` of an FCM error answer (``details[].errorCode``), else its ``status``."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return None
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None


class FcmProvider:
    name = "fcm"
    channel: Channel = "push"
    transactional = False

    def __init__(self, settings: Settings) -> None:
        assert settings.fcm_url is not None and settings.fcm_access_token is not None, "checked by Settings"
        self.url = settings.fcm_url.rstrip("/") + "/messages:send"
        self.headers = {
            "authorization": f"Bearer {settings.fcm_access_token.get_secret_value()}",
            "content-type": "application/json",
        }
        self.timeout = settings.provider_timeout_seconds
        self.concurrency = settings.push_concurrency

    @staticmethod
    def body(message: OutboundPush, token: str) -> dict[str, Any]:
        notification = {"title": message.title, "body": message.text}
        if message.image_url:
            notification["image"] = message.image_url
        data = {"message_id": str(message.message_id), "idempotency_key": message.idempotency_key}
        if message.link:
            data["link"] = message.link
        return {"message": {"token": token, "notification": notification, "data": data}}

    async def send(self, outbox: Outbox[OutboundPush]) -> AsyncGenerator[SendResult, None]:
        async with httpx.AsyncClient(timeout=self.timeout, headers=self.headers) as client:

            async def send_one(message: OutboundPush) -> SendResult:
                accepted: list[str] = []
                dead: list[str] = []
                failures: list[SendResult] = []
                for token in message.tokens:
                    try:
                        response = await client.post(
                            self.url, content=json.dumps(self.body(message, token), ensure_ascii=False).encode()
                        )
                    except httpx.HTTPError as error:
                        failures.append(connection_failure(message.message_id, self.url, error))
                        continue
                    result = http_result(message.message_id, response, id_field="name")
                    if result.ok:
                        accepted.append(result.provider_message_id or token)
                    elif fcm_error_code(response) == UNREGISTERED:
                        dead.append(token)
                    else:
                        failures.append(result)
                if accepted:
                    return SendResult(message.message_id, True, provider_message_id=accepted[0], dead_tokens=(*dead,))
                if not message.tokens:
                    return SendResult(message.message_id, False, error="the customer has no active push token")
                transient = [failure for failure in failures if failure.transient]
                if transient:
                    waits = [f.retry_after for f in transient if f.retry_after is not None]
                    return SendResult(
                        message.message_id,
                        False,
                        error=transient[0].error,
                        transient=True,
                        retry_after=max(waits) if waits else None,
                        dead_tokens=(*dead,),
                    )
                reasons = [f.error or "" for f in failures] + [f"{UNREGISTERED} token" for _ in dead]
                return SendResult(
                    message.message_id,
                    False,
                    error="no device token accepted the push: " + "; ".join(reasons),
                    dead_tokens=(*dead,),
                )

            async for result in in_parallel(outbox, self.concurrency, send_one):
                yield result
