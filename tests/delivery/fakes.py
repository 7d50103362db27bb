"""A fake HTTP provider that is a real server on loopback (STYLE habit 12).

One small ASGI app, served by uvicorn in a thread on 127.0.0.1 and an ephemeral port, stands in for the SMS
gateway, the Viber gateway and FCM at once (by path). It records every request and answers 200 unless a test
scripted something else: a status, a JSON body, headers (``Retry-After``), or a delay, for the next N requests
that match a predicate. Providers get its URL through settings, exactly as in production.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it is not JSON

    @property
    def key(self) -> str | None:
        """The idempotency key, wherever the provider put it."""
        if "idempotency-key" in self.headers:
            return self.headers["idempotency-key"]
        if isinstance(self.body, dict) and "message" in self.body:
            return str(self.body["message"]["data"]["idempotency_key"])
        return None


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class _Rule:
    matches: Callable[[Request], bool]
    reply: Reply
    times: int | None  # None: for ever


class FakeProvider:
    """Records requests; answers by the first scripted rule that matches, else 200 with an id."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.in_flight = 0
        self.max_in_flight = 0
        self.url = ""

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._rules.clear()
            self.in_flight = self.max_in_flight = 0

    def answer(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int | None = 1,
        when: Callable[[Request], bool] = lambda request: True,
    ) -> None:
        """Answer the next ``times`` matching requests (all of them with ``times=None``) like this."""
        with self._lock:
            self._rules.append(_Rule(when, Reply(status, body, headers or {}, delay), times))

    def to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def _reply(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for rule in self._rules:
                if rule.matches(request) and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule.reply
            n = next(self._ids)
        body = {"name": f"projects/fake/messages/{n}"} if request.path.endswith(":send") else {"id": f"fake-{n}"}
        return Reply(200, body)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        chunks = []
        while True:
            event = await receive()
            chunks.append(event.get("body", b""))
            if not event.get("more_body"):
                break
        raw = b"".join(chunks).decode()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        reply = self._reply(Request(scope["method"], scope["path"], headers, body))
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        response_headers = [(b"content-type", b"application/json")]
        response_headers += [(name.encode(), value.encode()) for name, value in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})

    @classmethod
    @contextmanager
    def serve(cls) -> Iterator[FakeProvider]:
        fake = cls()
        config = uvicorn.Config(
            fake, host="127.0.0.1", port=0, log_level="warning", lifespan="off", http="h11", loop="asyncio"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="fake-provider", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake provider did not start")
            time.sleep(0.002)
        fake.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        try:
            yield fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def fcm_unregistered() -> dict[str, Any]:
    """FCM v1's answer for a token that is no longer registered (HTTP 404)."""
    return {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}],
        }
    }


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProvider]:
    with FakeProvider.serve() as fake:
        yield fake


@pytest.fixture
def fake_provider(fake_provider_server: FakeProvider) -> FakeProvider:
    fake_provider_server.reset()
    return fake_provider_server


def provider_settings(fake: FakeProvider, **overrides: Any) -> dict[str, Any]:
    """Settings that send SMS, Viber and push to the fake (paths /sms, /viber, /v1/projects/test/messages:send)."""
    return {
        "sms_provider": "http",
        "sms_url": f"{fake.url}/sms",
        "sms_auth_header": "Authorization: Bearer sms-secret",
        "viber_provider": "http",
        "viber_url": f"{fake.url}/viber",
        "push_provider": "fcm",
        "fcm_url": f"{fake.url}/v1/projects/test",
        "fcm_access_token": "fcm-secret",
        "provider_timeout_seconds": 2.0,
    } | overrides
