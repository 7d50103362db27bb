"""A bound on every request body: a client may not make the server hold more than it allows.

The limit is checked against ``Content-Length`` before anything is read and against the bytes as they stream
in (a chunked body declares no length), so an oversized body costs the server at most the limit. A route that
takes a larger body (a CSV upload, streamed to a temporary file) raises the limit for its request with
``allow_body`` before it reads. Either way the answer is 413 ``payload_too_large`` stating the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Where a request's limit lives in its ASGI scope, so that a route can raise it before reading the body.
LIMIT_KEY = "tidings.max_body_bytes"


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body is larger than the limit of {limit} bytes ({_readable(limit)})")


def _readable(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB" if size >= 1024 * 1024 else f"{size / 1024:g} KiB"


def allow_body(request: Request, limit: int) -> None:
    """Let this request's body reach ``limit`` bytes (call before reading it)."""
    request.scope[LIMIT_KEY] = limit


class BodyLimit:
    """ASGI middleware: refuse a request body above ``scope[LIMIT_KEY]`` (default ``limit``) with 413."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[LIMIT_KEY] = self.limit
        declared = _content_length(scope)
        received = 0

        async def bounded() -> Message:
            nonlocal received
            limit: int = scope[LIMIT_KEY]
            if declared is not None and declared > limit:
                raise too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, bounded, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
