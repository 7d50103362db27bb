"""The HTTP loyalty adapter: one JSON ``POST`` per request to the loyalty program's API.

    POST {url}/bonuses        {"customer", "amount", "expiry_days" | "expiry_date", "partner", "description",
                               "campaign_id", "reference"}
    POST {url}/audiences      {"customer", "operation": "add" | "remove", "audience_id", "audience", …}
    POST {url}/subscriptions  {"customer", "type": "Mailings", "channel", "active", …}

Every request carries ``Idempotency-Key`` (also sent as ``reference`` in the body) and the configured auth
header. The answer decides the outcome:

- 2xx: done; a JSON body is kept as the request's response.
- 408, 409 (the same key still in flight), 429, 5xx, a timeout or a network error: retry later (``Retry-After``
  is honoured); the outcome of a timed-out call is unknown, so the retry reuses the key.
- any other 4xx: failed for good; the reason is the program's error code — ``{"error": {"code", "message"}}``,
  ``{"code", "message"}`` or ``{"error": "…"}`` — else ``http_<status>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Connection

from tidings.core.retry import retry_after_seconds
from tidings.loyalty.adapter import LoyaltyCall, LoyaltyResult, reason_code

PATHS = {"bonus": "/bonuses", "audience": "/audiences", "subscription": "/subscriptions"}
TRANSIENT_STATUSES = frozenset({408, 409, 429})
#: Longest provider message kept on a request.
ERROR_CHARS = 1000


class HttpLoyalty:
    name = "http"
    in_transaction = False

    def __init__(
        self,
        url: str,
        *,
        auth_header: str | None,
        timeout: float,
        concurrency: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "tidings-loyalty/1"}
        if auth_header:
            name, _, value = auth_header.partition(":")
            headers[name.strip()] = value.strip()
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)
        self.concurrency = concurrency

    def apply(self, conn: Connection | None, calls: Sequence[LoyaltyCall], now: datetime) -> list[LoyaltyResult]:
        if len(calls) <= 1 or self.concurrency == 1:
            return [self._call(call) for call in calls]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(calls))) as pool:
            return list(pool.map(self._call, calls))

    def close(self) -> None:
        self.client.close()

    def _call(self, call: LoyaltyCall) -> LoyaltyResult:
        path = PATHS.get(call.kind)
        if path is None:
            return LoyaltyResult(call.request_id, "failed", reason="unknown_kind", error=f"no endpoint for {call.kind}")
        body = {**call.payload, "customer": call.customer, "reference": call.idempotency_key}
        if call.entry_id is not None:
            body["campaign_id"] = call.campaign_id
        try:
            response = self.client.post(path, json=body, headers={"Idempotency-Key": call.idempotency_key})
        except httpx.TimeoutException:
            return LoyaltyResult(call.request_id, "retry", reason="timeout", error="no answer in time; outcome unknown")
        except httpx.HTTPError as error:
            return LoyaltyResult(
                call.request_id, "retry", reason="unreachable", error=f"{type(error).__name__}: {error}"
            )
        return result_of(call.request_id, response)


def result_of(request_id: int, response: httpx.Response) -> LoyaltyResult:
    status = response.status_code
    body = _json(response)
    if 200 <= status < 300:
        return LoyaltyResult(request_id, "done", response=body if isinstance(body, dict) else {"status": status})
    code, message = _error(body)
    reason = reason_code(code) if code else f"http_{status}"
    error = (message or response.reason_phrase or f"HTTP {status}")[:ERROR_CHARS]
    details = {"status": status, "body": body} if body is not None else {"status": status}
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))  # the program's time
        return LoyaltyResult(request_id, "retry", response=details, reason=reason, error=error, retry_after=wait)
    return LoyaltyResult(request_id, "failed", response=details, reason=reason, error=error)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from the usual error shapes."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, dict):
        return _text(error.get("code")), _text(error.get("message"))
    if isinstance(error, str):
        return None, error
    return _text(body.get("code")), _text(body.get("message"))


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value) else None
