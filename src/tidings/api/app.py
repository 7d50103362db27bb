"""The ASGI app factory: ``uvicorn --factory tidings.api.app:create_app``."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

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
    messages,
    meta,
    notifications,
    orders,
    points,
    polls,
    popups,
    reports,
    segments,
    subscriptions,
    templates,
    tracking,
    ui,
    users,
)
from tidings.api.errors import install_error_handlers
from tidings.core.clock import Clock
from tidings.services import Services
from tidings.settings import Settings

PREFIX = "/api/v1"
ROUTERS = (
    customers.router,
    custom_fields.router,
    catalog.router,
    orders.router,
    events.router,
    campaigns.router,
    reports.router,
    segments.router,
    audiences.router,
    categories.router,
    subscriptions.router,
    polls.router,
    points.router,
    contacts.router,
    users.router,
    messages.router,
    notifications.router,
    popups.router,
    templates.router,
    tracking.router,
    account.router,
    clock.router,
    meta.router,
)


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, services: Services | None = None
) -> FastAPI:
    """Build the API. Given ``services``, the caller owns them (and ``settings``/``clock`` are theirs);
    otherwise they are built here from ``settings`` (default: the environment) and closed at shutdown."""
    owned = services is None
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
    )
    app.state.services = built
    app.state.clock_lock = threading.Lock()
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)
    app.include_router(tracking.public_router)  # /t/…: the short open and click links inside e-mails
    app.include_router(polls.public_router)  # /vote/…: the personal poll links
    ui.install(app)
    return app
