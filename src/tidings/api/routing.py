r"""Routes that read request bodies as strict JSON.

Python's ``json`` accepts ``NaN``, ``Infinity`` and numbers that overflow to infinity (``1e999``); none is a
JSON number (RFC 8259) and PostgreSQL refuses them where SQLite would store them. Values nested hundreds of
levels deep can be stored but not read back. Refusing both at the door keeps the databases alike and answers
400 ``invalid_json`` like any other malformed body.

Two values are well-formed JSON that neither database can hold, and are refused at the door with 422
``invalid_input`` naming the field, whatever the route: a lone surrogate (``"\ud800"``, not a Unicode
character: it was stored on SQLite and then every read of it answered 500) and an integer outside the 64-bit
range both databases store (SQLite cannot even bind one, so a condition holding it failed at every run).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from tidings.api.errors import field_path

#: Deepest nesting of arrays and objects accepted in a request body (campaign conditions nest a few levels).
MAX_DEPTH = 64
#: Position of an error that is about the whole body rather than one place in it.
NO_POSITION = -1
#: The integers both databases store (64-bit signed).
SMALLEST_INT, LARGEST_INT = -(2**63), 2**63 - 1


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


class BodyRefused(HTTPException):
    """A well-formed body holding a value no database can store: 422 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(422, f"{field}: {message}" if field else message)
        self.details = [{"field": field or None, "in": "body", "message": message}]


def unstorable(value: Any) -> tuple[str, str] | None:
    """(field, why) of the first value in a parsed body that no database can store, else None."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                return field_path(loc), r"text must not contain a lone surrogate (\ud800-\udfff): it is no character"
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not SMALLEST_INT <= item <= LARGEST_INT:
                return field_path(loc), f"integer {item} is outside the 64-bit range ({SMALLEST_INT} to {LARGEST_INT})"
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if _has_surrogate(key):
                    return field_path(loc), r"a key must not contain a lone surrogate (\ud800-\udfff)"
                stack.append((child, (*loc, key)))
        elif isinstance(item, list):
            stack.extend((child, (*loc, index)) for index, child in reversed(list(enumerate(item))))
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            value = strict_loads(await self.body())
            problem = unstorable(value)
            if problem is not None:
                raise BodyRefused(*problem)
            self._json = value
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
