"""Routes that read request bodies as strict JSON.

Python's ``json`` accepts ``NaN``, ``Infinity`` and numbers that overflow to infinity (``1e999``); none is a
JSON number (RFC 8259) and PostgreSQL refuses them where SQLite would store them. Refusing them at the door
keeps both databases alike and answers 400 ``invalid_json`` like any other malformed body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import Request, Response
from fastapi.routing import APIRoute


def strict_loads(text: str | bytes) -> Any:
    doc = text.decode("utf-8") if isinstance(text, bytes) else text

    def refuse(token: str) -> NoReturn:
        raise json.JSONDecodeError(f"{token} is not a JSON number", doc, max(doc.find(token), 0))

    def finite(token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            refuse(token)
        return value

    return json.loads(doc, parse_constant=refuse, parse_float=finite)


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
