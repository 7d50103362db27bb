"""The ASGI app factory: ``uvicorn --factory tidings.api.app:create_app``."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from tidings.api import (
    account,
    audiences,
    campaigns,
    catalog,
    categories,
    clock,
    contacts,
    custom_fields,
    customers,
    events,
    feedback,
    keys,
    messages,
    meta,
    notifications,
    orders,
    points,
    polls,
    popups,
    reports,
    segments,
    session,
    subscriptions,
    templates,
    tracking,
    ui,
    users,
)
from tidings.api.access import (
    PUBLIC,
    SIGNED_IN,
    Access,
    Grants,
    authorize,
    check_declared,
    declared_routes,
    with_security,
)
from tidings.api.errors import install_error_handlers
from tidings.api.limits import BodyLimit
from tidings.core.clock import Clock
from tidings.model.users import Area
from tidings.services import Services
from tidings.settings import Settings

PREFIX = "/api/v1"

#: Every router under /api/v1 and what its routes need (tidings.api.access): the whole access map in one place.
API_ROUTERS: tuple[tuple[APIRouter, Access], ...] = (
    (customers.router, Access(Area.customers)),
    (custom_fields.router, Access(Area.customers)),
    (catalog.router, Access(Area.catalog)),
    (orders.router, Access(Area.orders)),
    (events.router, Access(Area.events)),
    (campaigns.router, Access(Area.campaigns)),
    (reports.router, Access(Area.reports)),
    (segments.router, Access(Area.segments)),
    (audiences.router, Access(Area.audiences)),
    (categories.router, Access(Area.categories)),
    (subscriptions.router, Access(Area.customers)),
    (polls.router, Access(Area.polls)),
    (points.router, Access(Area.customers)),
    (contacts.router, Access(Area.customers)),
    (users.router, Access(Area.users)),
    (users.managers, Access(Area.customers)),
    (keys.router, Access(Area.keys)),
    (session.router, PUBLIC),  # signing in
    (session.signed_in, SIGNED_IN),
    (messages.router, Access(Area.messages)),
    (notifications.router, PUBLIC),  # the customer's app reads its inbox
    (popups.router, PUBLIC),  # the customer's app asks for and confirms popups
    (templates.router, Access(Area.templates)),
    (tracking.router, PUBLIC),  # one-click unsubscribe (RFC 8058)
    (tracking.webhooks, Access(Area.webhooks)),
    (feedback.public, PUBLIC),  # bounces and complaints: each provider authenticates by its own signature
    (feedback.router, Access(Area.messages)),  # the refused reports and the suppression list
    (account.router, Access(Area.settings)),
    (clock.router, Access(Area.clock)),
    (meta.health_router, PUBLIC),
    (meta.router, SIGNED_IN),  # the JSON Schemas the editor's forms are built from
)
#: Routers served at the root.
ROOT_ROUTERS: tuple[tuple[APIRouter, Access], ...] = (
    (tracking.public_router, PUBLIC),  # /t/…: the open pixel and tracked links inside e-mails
    (polls.public_router, PUBLIC),  # /vote/…: the personal poll links
    (ui.router, SIGNED_IN),  # /ui/catalog.json
    (ui.public_router, PUBLIC),  # / and /ui: the way to the editor, which signs in
)


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, services: Services | None = None
) -> FastAPI:
    """Build the API. Given ``services``, the caller owns them (and ``settings``/``clock`` are theirs);
    otherwise they are built here from ``settings`` (default: the environment) and closed at shutdown."""
    owned = services is None
    if services is None and settings is None:  # the ASGI factory, configured by the environment: production
        settings = Settings()
        settings.check_secret_key()
        settings.check_public_url()
    built = services if services is not None else Services.build(settings or Settings(), clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                built.close()

    app = FastAPI(
        title="Tidings",
        summary="Customer-communication campaigns",
        version="1",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(authorize)],
    )
    app.state.services = built
    app.state.clock_lock = threading.Lock()
    grants = Grants()
    app.state.grants = grants

    def declare(access: Access, add: Callable[[], None]) -> None:
        before = len(app.router.routes)
        add()
        for route in declared_routes(app.router.routes[before:]):
            grants.grant(route, access)

    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=built.settings.max_body_bytes)
    for router, access in API_ROUTERS:
        declare(access, partial(app.include_router, router, prefix=PREFIX))
    for router, access in ROOT_ROUTERS:
        declare(access, partial(app.include_router, router))
    declare(PUBLIC, partial(ui.install, app))  # the editor's files (its page signs in)
    check_declared(app, grants)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_security(app, grants, FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
