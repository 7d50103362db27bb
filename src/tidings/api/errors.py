"""Every error leaves the API as ``{"error": {"code", "message", "details"}}``.

``TidingsError`` and its subclasses are rendered by one handler (found through the exception's MRO); request
validation, malformed JSON, unknown routes, values the database refuses and unexpected failures get the same
shape, so a client never has to parse two formats. Bad input is always a 4xx.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings.core.errors import TidingsError

log = logging.getLogger("tidings.api")

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
}
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details)}}
    return JSONResponse(body, status_code=status)


def field_path(loc: Sequence[Any]) -> str:
    """``("customers", 3, "email")`` → ``customers[3].email``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_errors(errors: Sequence[Any], *, located: bool = True) -> list[dict[str, Any]]:
    """Pydantic / FastAPI error items → ``[{field, in, message}]``, never echoing the input back.

    ``located``: the first element of each ``loc`` says where the value came from (body, query, path)."""
    described = []
    for item in errors:
        loc = list(item.get("loc", ()))
        where = loc.pop(0) if located and loc and loc[0] in _LOCATIONS else None
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        if item.get("type") == "extra_forbidden":
            message = "unknown field"
        described.append({"field": field_path(loc) or None, "in": where, "message": message})
    return described


async def _tidings_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TidingsError)
    if exc.http_status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.message, exc_info=exc)
    return error_response(exc.http_status, exc.code, exc.message, exc.details)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    broken = next((item for item in errors if item.get("type") == "json_invalid"), None)
    if broken is not None:
        reason = (broken.get("ctx") or {}).get("error", "JSON decode error")
        position = broken["loc"][-1] if broken.get("loc") else None
        if not isinstance(position, int) or position < 0:
            position = None  # the problem is the body as a whole (see tidings.api.routing)
        at = f" at character {position}" if position is not None else ""
        return error_response(
            400, "invalid_json", f"the request body is not valid JSON: {reason}{at}", {"position": position}
        )
    details = describe_errors(errors)
    first = details[0] if details else {"field": None, "message": "invalid request"}
    where = f"{first['field']}: " if first["field"] else ""
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return error_response(422, "invalid_input", f"{where}{first['message']}{more}", details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such endpoint: {request.method} {request.url.path}; the API is described at /api/v1/docs"
    response = error_response(exc.status_code, code, message, getattr(exc, "details", None))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value the models let through (e.g. a NUL character, an out-of-range number)."""
    assert isinstance(exc, DataError)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "invalid value"
    return error_response(422, "invalid_input", f"the database refused a value: {reason}")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this answer, so the server logs it with its traceback.
    return error_response(500, "internal_error", "internal error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TidingsError, _tidings_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
