"""Signing in and out of the editor: ``POST /session`` sets an HTTP-only, ``SameSite=Strict`` session cookie and
answers the CSRF token that every change made with that cookie must send back in ``X-CSRF-Token``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from tidings.accounts import Principal
from tidings.api.access import SESSION_COOKIE, PrincipalDep
from tidings.api.deps import ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.model.users import Area, Role, SignIn

router = APIRouter(prefix="/session", tags=["session"], route_class=StrictJsonRoute)  # sign in: public
signed_in = APIRouter(prefix="/session", tags=["session"], route_class=StrictJsonRoute)  # any credential


class Caller(BaseModel):
    kind: Literal["user", "key"] = Field(description="user (signed in) | key (an API key)")
    id: int
    name: str
    role: Role | None = Field(description="A user's role; null for a key.")
    scopes: list[str] = Field(description="A key's scopes; empty for a user (the role decides).")
    may_change: list[Area] = Field(description="The areas the caller may change (the editor offers only these).")


class SessionOut(BaseModel):
    caller: Caller
    csrf_token: str | None = Field(description="Send it as X-CSRF-Token with every change; null for a key.")


def _out(principal: Principal) -> SessionOut:
    caller = Caller(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role,
        scopes=sorted(principal.scopes),
        may_change=[area for area in Area if principal.may(area, write=True)],
    )
    return SessionOut(caller=caller, csrf_token=principal.csrf_token)


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post("", summary="Sign in")
def sign_in(body: SignIn, request: Request, response: Response, services: ServicesDep) -> SessionOut:
    """Refused alike (401) for an unknown e-mail, a wrong password or a deactivated user; throttled (429) after
    repeated failures for the account or from the address."""
    session = services.accounts.sign_in(body.email, body.password, _address(request))
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=int((session.expires_at - services.accounts.wall.now()).total_seconds()),
        path="/",
        secure=services.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="strict",
    )
    return _out(session.principal)


@signed_in.get("", summary="Who is signed in, and the session's CSRF token")
def whoami(principal: PrincipalDep) -> SessionOut:
    return _out(principal)


@signed_in.delete("", status_code=204, summary="Sign out")
def sign_out(request: Request, services: ServicesDep) -> Response:
    """Ends the session at once; with an API key, nothing happens (revoke the key instead)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        services.accounts.sign_out(token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
