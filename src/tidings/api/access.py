"""Who may call what. One dependency, ``authorize``, runs before every route of the app; what each route needs is
declared once, with its router, in ``tidings.api.app`` (``API_ROUTERS``, ``ROOT_ROUTERS``), and the app refuses to
start if a route declares nothing.

A route needs one of:

* ``PUBLIC`` — anyone: the tracking pixel and click redirect, one-click unsubscribe, poll answers, the
  customer-facing popup and notification endpoints, signing in, the health check, the editor's files and the API
  description. ``tests/api/test_access.py`` asserts the list exactly.
* ``SIGNED_IN`` — any valid credential (who am I, signing out, the JSON Schemas the editor's forms are built from).
* ``Access(area)`` — reading the area (``GET``/``HEAD``) or changing it (any other method): a user whose role
  allows it (``model.users.role_may``) or a key holding the scope (``customers:write``).

Credentials: ``Authorization: Bearer <key>`` (integrations), else the session cookie (the editor). A request made
with the cookie that changes anything must carry the session's CSRF token in ``X-CSRF-Token``: another site can
make the browser send the cookie, never read the token. No credential, or an unknown, expired or revoked one,
answers 401; a credential that does not grant the route answers 403.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from tidings.accounts import Principal
from tidings.core.errors import CsrfRefused, Forbidden, Unauthenticated
from tidings.model.users import Area, scope_of
from tidings.services import Services

SESSION_COOKIE = "tidings_session"
CSRF_HEADER = "X-CSRF-Token"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Access:
    """What a route needs: nothing (``area`` None, not ``signed_in``), any credential, or a grant on an area."""

    area: Area | None = None
    signed_in: bool = True

    @property
    def public(self) -> bool:
        return not self.signed_in


PUBLIC = Access(signed_in=False)
SIGNED_IN = Access()


class Grants:
    """Each route's access, by the route object (routes are not hashable; the app keeps them alive)."""

    def __init__(self) -> None:
        self._by_route: dict[int, Access] = {}

    def grant(self, route: BaseRoute, access: Access) -> None:
        self._by_route[id(route)] = access

    def of(self, route: BaseRoute) -> Access | None:
        return self._by_route.get(id(route))


def _grants(request: Request) -> Grants:
    return cast(Grants, request.app.state.grants)


def credential(request: Request) -> Principal | None:
    """The caller named by the request's key or session cookie (401 if it names nobody valid), or None."""
    accounts = cast(Services, request.app.state.services).accounts
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        principal = accounts.key(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if principal is None:
            raise Unauthenticated("the API key is unknown or revoked; send `Authorization: Bearer <key>`")
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    principal = accounts.session(cookie)
    if principal is None:
        raise Unauthenticated("the session has ended; sign in again")
    return principal


def authorize(request: Request) -> None:
    """The one dependency of every route: admit the caller or answer 401 / 403. The caller is left in
    ``request.state.principal`` (None on a public route)."""
    request.state.principal = None
    access = _grants(request).of(request.scope["route"])
    if access is None:  # cannot happen: ``check_declared`` ran at start-up
        raise Forbidden("this endpoint declares no access")
    if access.public:
        return
    principal = credential(request)
    if principal is None:
        raise Unauthenticated(
            "sign in, or send an API key as `Authorization: Bearer <key>`", details={"sign_in": "POST /api/v1/session"}
        )
    write = request.method not in READ_METHODS
    if write and principal.csrf_token is not None:
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), principal.csrf_token.encode()):
            raise CsrfRefused(f"a change made with the session cookie needs the {CSRF_HEADER} header of the session")
    if access.area is not None and not principal.may(access.area, write=write):
        needed = scope_of(access.area, write=write)
        who = f"the role {principal.role}" if principal.role else "this API key"
        raise Forbidden(f"{who} may not {'change' if write else 'read'} {access.area.value}", details={"needs": needed})
    request.state.principal = principal


def current_principal(request: Request) -> Principal:
    principal = cast(Principal | None, request.state.principal)
    assert principal is not None, "used on a route that is not public"
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def declared_routes(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes as declared, an included router's own ones (the request's ``scope["route"]``), without building
    the effective copies FastAPI makes of them (with prefixes and dependencies) on a router's first request."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from declared_routes(included.routes)
        else:
            yield route


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route of the app, as served (with its router's prefix)."""
    return [context for context in iter_route_contexts(app.routes) if isinstance(context.original_route, APIRoute)]


def check_declared(app: FastAPI, grants: Grants) -> None:
    """Refuse to build an app with a route that declares no access (a forgotten router would be wide open)."""
    undeclared = [
        route.path for route in declared_routes(app.routes) if isinstance(route, APIRoute) and grants.of(route) is None
    ]
    if undeclared:
        raise RuntimeError(f"routes without declared access (add them to tidings.api.app): {undeclared}")


# -- the served OpenAPI document: the schemes, and each operation's requirement ---------------------------------
SCHEMES: dict[str, Any] = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key an admin created, with scopes such as `customers:write`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The editor's session, set by POST /api/v1/session.",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": CSRF_HEADER,
        "description": "The session's CSRF token (GET /api/v1/session); needed with the cookie by every change.",
    },
}


def requirement(access: Access, method: str) -> list[dict[str, list[str]]]:
    """The OpenAPI security requirement of ``access`` for ``method``: a key (with the scope), or the session
    (with the CSRF token for a change)."""
    if access.public:
        return []
    write = method.upper() not in READ_METHODS
    scopes = [scope_of(access.area, write=write)] if access.area is not None else []
    session: dict[str, list[str]] = {"session": [], "csrf": []} if write else {"session": []}
    return [{"apiKey": scopes}, session]


def with_security(app: FastAPI, grants: Grants, document: dict[str, Any]) -> dict[str, Any]:
    document.setdefault("components", {})["securitySchemes"] = SCHEMES
    for context in api_routes(app):
        if context.include_in_schema:
            for method in context.methods or set():
                operation = document["paths"][context.path_format][method.lower()]
                access = grants.of(context.original_route)
                assert access is not None  # check_declared
                operation["security"] = requirement(access, method)
    return document
