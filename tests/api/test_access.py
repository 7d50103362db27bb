"""Every route is authorised: generated from the app's route table, every route and method is called without a
credential, as each role and with API keys; the public list is asserted exactly, so a route that forgets
authorisation fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.api.conftest import credentials, serve
from tidings.api.access import PUBLIC, READ_METHODS, SCHEMES, Access, Grants, api_routes, requirement
from tidings.api.app import create_app
from tidings.api.ui import UI_DIST
from tidings.model.users import ROLES, SCOPES, Area, Role, role_may, scope_of
from tidings.services import Services

#: Everything anyone may call without a credential, and nothing else.
EXPECTED_PUBLIC = {
    ("GET", "/"),
    ("GET", "/ui"),
    ("GET", "/t/o/{token}.gif"),  # the open pixel
    ("GET", "/t/c/{token}"),  # a tracked link
    ("GET", "/vote/{token}"),  # a poll's page and its answers
    ("POST", "/vote/{token}"),
    ("GET", "/api/v1/unsubscribe/{token}"),  # one-click unsubscribe (RFC 8058) and its page
    ("POST", "/api/v1/unsubscribe/{token}"),
    ("POST", "/api/v1/session"),  # signing in
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/customers/{external_id}/notifications"),  # the customer's app
    ("POST", "/api/v1/customers/{external_id}/notifications/{notification_id}/read"),
    ("POST", "/api/v1/popups/query"),
    ("POST", "/api/v1/popups/confirm"),
    ("POST", "/api/v1/feedback/{source}"),  # provider webhooks: each checks its provider's signature
}
#: The API's description (not API routes): public.
DESCRIPTION = {"/api/v1/openapi.json", "/api/v1/docs"}


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services=services)


@pytest.fixture
def origin(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


def routes(app: FastAPI) -> list[tuple[str, str, Access]]:
    grants: Grants = app.state.grants
    table = []
    for context in api_routes(app):
        access = grants.of(context.original_route)
        assert access is not None and context.path_format is not None
        table += [(method, context.path_format, access) for method in sorted(context.methods or ())]
    return table


def call(http: httpx.Client, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return http.request(method, re.sub(r"\{[^}]+\}", "1", path), headers=headers)


def key(services: Services, scopes: list[str]) -> dict[str, str]:
    with services.db.engine.begin() as conn:
        _, token = services.accounts.create_key(conn, "test", scopes, None)
    return {"Authorization": f"Bearer {token}"}


def test_the_public_list_is_exactly_the_documented_one(app: FastAPI) -> None:
    public = {(method, path) for method, path, access in routes(app) if access.public}
    if not (UI_DIST / "index.html").is_file():
        public.discard(("GET", "/ui/"))  # without a build, /ui/ says how to make one
    assert public == EXPECTED_PUBLIC
    described = {route.path for route in app.routes if getattr(route, "path", "").startswith("/api/v1/")}
    assert described == DESCRIPTION


def test_without_a_credential_every_route_but_the_public_ones_answers_401(app: FastAPI, origin: str) -> None:
    with httpx.Client(base_url=origin, timeout=30, trust_env=False, follow_redirects=False) as http:
        for method, path, access in routes(app):
            status = call(http, method, path).status_code
            assert (status == 401) is not access.public, (method, path, status)
        for path in ("/api/v1/campaigns", "/api/v1/users"):  # a forged cookie or key is no credential either
            assert call(http, "GET", path, {"Cookie": "tidings_session=forged"}).status_code == 401
            assert call(http, "GET", path, {"Authorization": "Bearer tdk_forged"}).status_code == 401
            assert call(http, "GET", path, {"Authorization": "Basic YTpi"}).status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_what_it_may_and_is_refused_the_rest(
    app: FastAPI, origin: str, services: Services, role: Role
) -> None:
    signed_in = credentials(services, role)
    with httpx.Client(base_url=origin, timeout=30, trust_env=False, follow_redirects=False) as http:
        for method, path, access in routes(app):
            if (method, path) == ("DELETE", "/api/v1/session"):
                continue  # signing out ends the session the other calls use; tested on its own
            allowed = access.area is None or role_may(role, access.area, write=method not in READ_METHODS)
            status = call(http, method, path, signed_in).status_code
            assert (status == 403) is not allowed and status != 401, (role, method, path, status)


def test_roles_in_a_marketers_words(client: httpx.Client, services: Services, origin: str) -> None:
    """The grants that matter most, spelled out rather than derived."""
    analyst, marketer = credentials(services, "analyst"), credentials(services, "marketer")
    with httpx.Client(base_url=f"{origin}/api/v1", timeout=30, trust_env=False) as http:
        assert http.get("/campaigns", headers=analyst).status_code == 200  # an analyst sees campaigns
        assert http.get("/campaigns/1/report", headers=analyst).status_code == 404  # and reports (none here)
        assert http.post("/campaigns", json={}, headers=analyst).status_code == 403  # but saves nothing
        assert http.get("/users", headers=analyst).status_code == 403
        assert http.post("/campaigns", json={}, headers=marketer).status_code == 422  # a marketer may
        assert http.post("/users", json={}, headers=marketer).status_code == 403  # but adds no users
        assert http.get("/keys", headers=marketer).status_code == 403
        assert http.put("/settings", json={}, headers=marketer).status_code == 403
        assert http.post("/clock/advance", json={"by": "PT1H"}, headers=marketer).status_code == 403
        assert http.post("/clock/advance", json={"by": "PT1H"}, headers=analyst).status_code == 403
    assert client.post("/clock/advance", json={"by": "PT1H"}).status_code == 200  # an admin moves the clock


def test_a_key_reaches_exactly_what_its_scopes_grant(app: FastAPI, origin: str, services: Services) -> None:
    every = key(services, list(SCOPES))
    with httpx.Client(base_url=origin, timeout=30, trust_env=False, follow_redirects=False) as http:
        for method, path, access in routes(app):
            if access.public:
                continue
            status = call(http, method, path, every).status_code
            if access.area is None:
                assert status not in (401, 403), (method, path, status)
                continue
            needed = scope_of(access.area, write=method not in READ_METHODS)
            if needed not in SCOPES:  # users, keys, the clock: signed-in admins only
                assert status == 403, (method, path, status)
                continue
            assert status not in (401, 403), (method, path, status)
            others = key(services, [scope for scope in SCOPES if scope != needed])
            assert call(http, method, path, others).status_code == 403, (method, path)


def test_the_openapi_document_declares_the_security_exactly(app: FastAPI, client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"] == SCHEMES
    for method, path, access in routes(app):
        if path in spec["paths"]:
            assert spec["paths"][path][method.lower()]["security"] == requirement(access, method), (method, path)
    assert spec["paths"]["/api/v1/customers"]["post"]["security"] == [
        {"apiKey": ["customers:write"]},
        {"session": [], "csrf": []},
    ]
    assert spec["paths"]["/api/v1/campaigns/{campaign_id}"]["get"]["security"] == [
        {"apiKey": ["campaigns:read"]},
        {"session": []},
    ]
    assert spec["paths"]["/api/v1/health"]["get"]["security"] == []
    assert requirement(PUBLIC, "POST") == []
    assert {scope_of(area, write=True) for area in (Area.users, Area.keys, Area.clock)}.isdisjoint(SCOPES)
