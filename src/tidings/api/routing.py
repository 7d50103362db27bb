"""Routes that read request bodies as strict JSON.

Python's ``json`` accepts ``NaN``, ``Infinity`` and numbers that overflow to infinity (``1e999``); none is a
JSON number (RFC 8259) and PostgreSQL refuses them where SQLite would store them. Values nested hundreds of
levels deep can be stored but not read back. Refusing both at the door keeps the databases alike and answers
400 ``invalid_json`` like any other malformed body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import Request, Response
from fastapi.routing import APIRoute

#: Deepest nesting of arrays and objects accepted in a request body (campaign conditions nest a few levels).
MAX_DEPTH = 64
#: Position of an error that is about the whole body rather than one place in it.
NO_POSITION = -1


def strict_loads(text: str | bytes) -> Any:
    try:
        doc = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError("the body is not UTF-8 text", "", error.start) from None

    def refuse(token: str) -> NoReturn:
        raise json.JSONDecodeError(f"{token} is not a JSON number", doc, max(doc.find(token), 0))

    def finite(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            refuse(token)
        return value

    try:
        value = json.loads(doc, parse_constant=refuse, parse_float=finite)
    except RecursionError:
        value = None
    else:
        if _depth_within(value, MAX_DEPTH):
            return value
    raise json.JSONDecodeError(f"arrays and objects nest deeper than {MAX_DEPTH} levels", doc, NO_POSITION)


def _depth_within(value: Any, limit: int) -> bool:
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return True
    return False


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
