"""What recipients and providers tell us after a send: opens, clicks, unsubscribes, delivery reports.

``public_router`` (served at the root, short URLs inside e-mails):

- ``GET /t/o/{token}.gif`` — the open pixel: a transparent 1×1 GIF; marks the message opened.
- ``GET /t/c/{token}`` — a tracked link: 302 to the URL signed into the token; marks the message clicked.

``router`` (under ``/api/v1``, public):

- ``GET /unsubscribe/{token}`` — a page asking to confirm (link scanners fetch URLs in mail, so a GET changes
  nothing); its button posts to the same URL.
- ``POST /unsubscribe/{token}`` — RFC 8058 one-click unsubscribe (a mail client posts
  ``List-Unsubscribe=One-Click``): the customer's subscription to the message's channel becomes ``N``.

``webhooks`` (under ``/api/v1``, an API key with ``webhooks:write``):

- ``POST /webhooks/{provider}/events`` — delivery reports from a provider, in batches with per-row errors.

A token that is malformed, tampered with or signed with another key answers 404 ``not_found`` with the same
message whatever was wrong with it. A genuine token of a message deleted since still works (the pixel still
answers, the link still leads where it was signed to lead).
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SkipValidation, model_validator

from tidings.api.deps import MAX_ID, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import RowProblem, check_rows
from tidings.core.errors import NotFound
from tidings.delivery.tracking import Kind, Tracker, Verified
from tidings.services import Services
from tidings.store.tracking import Event, TrackingEvent, messages_of_provider, record_events

public_router = APIRouter(include_in_schema=False)  # the API is documented under /api/v1 only
router = APIRouter(tags=["tracking"])
webhooks = APIRouter(tags=["tracking"], route_class=StrictJsonRoute)  # for providers, with an API key

MAX_BATCH = 10_000
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # transparent 1×1 GIF
NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, private", "Pragma": "no-cache"}


class LinkNotFound(NotFound):
    code = "tracking.not_found"


def _verify(services: Services, kind: Kind, token: str) -> Verified:
    verified = _tracker(services).verify(kind, token)
    if verified is None:
        raise LinkNotFound("no such link; it may have been mistyped or cut short")
    return verified


def _tracker(services: Services) -> Tracker:
    return services.delivery.tracker


def _record(services: Services, message_id: int, event: Event) -> None:
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        record_events(conn, services.db.dialect, [TrackingEvent(message_id, event, now)], now=now)


@public_router.get(
    "/t/o/{token}.gif",
    summary="Open pixel",
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "A transparent 1×1 GIF."}},
)
def open_pixel(token: str, services: ServicesDep) -> Response:
    """Marks the message opened (and delivered); answers a transparent GIF that no one may cache."""
    _record(services, _verify(services, "open", token).message_id, "open")
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@public_router.get(
    "/t/c/{token}",
    summary="Tracked link",
    response_class=RedirectResponse,
    status_code=302,
    responses={302: {"description": "To the link's destination, with its UTM parameters."}},
)
def follow_link(token: str, services: ServicesDep) -> RedirectResponse:
    """Marks the message clicked (and opened) and redirects to the URL signed into the token."""
    verified = _verify(services, "click", token)
    _record(services, verified.message_id, "click")
    return RedirectResponse(verified.url, status_code=302, headers=NO_STORE)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}
button{{font:inherit;padding:.5rem 1.25rem;cursor:pointer}}</style></head>
<body><main><h1>{title}</h1>{content}</main></body></html>
"""


@router.get("/unsubscribe/{token}", summary="Unsubscribe page", response_class=HTMLResponse)
def unsubscribe_page(token: str, services: ServicesDep) -> HTMLResponse:
    """A confirmation page; nothing changes until its button is pressed (a POST to the same URL)."""
    _verify(services, "unsubscribe", token)
    content = (
        "<p>Do you want to stop receiving these e-mails?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return HTMLResponse(_PAGE.format(title="Unsubscribe", content=content), headers=NO_STORE)


@router.post("/unsubscribe/{token}", summary="One-click unsubscribe (RFC 8058)", response_class=HTMLResponse)
def unsubscribe(token: str, services: ServicesDep) -> HTMLResponse:
    """Unsubscribes the recipient from the message's channel and flags the message; repeating it is harmless.
    The body (``List-Unsubscribe=One-Click`` from a mail client, or the page's form) is not needed."""
    _record(services, _verify(services, "unsubscribe", token).message_id, "unsubscribed")
    content = "<p>You are unsubscribed and will receive no more of these e-mails.</p>"
    return HTMLResponse(_PAGE.format(title="You are unsubscribed", content=content), headers=NO_STORE)


# -- provider callbacks ------------------------------------------------------------------------------------


class ProviderEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Our message id.")
    provider_message_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="The provider's id, as it answered the send."
    )
    event: Literal["delivered", "bounced", "spam", "unsubscribed", "open", "click"]
    at: AwareDatetime | None = Field(default=None, description="When it happened; now when left out.")

    @model_validator(mode="after")
    def _one_id(self) -> ProviderEvent:
        if (self.message_id is None) == (self.provider_message_id is None):
            raise ValueError("give exactly one of message_id and provider_message_id")
        return self


class ProviderEventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Rows are validated one by one in the route, so the body model only documents their schema.
    events: list[SkipValidation[ProviderEvent]] = Field(min_length=1, max_length=MAX_BATCH)


class ProviderEventError(BaseModel):
    index: int = Field(description="Position of the event in the batch, from 0.")
    provider_message_id: str | None
    field: str | None
    message: str


class ProviderEventsAccepted(BaseModel):
    accepted: int
    errors: list[ProviderEventError]


ProviderName = Annotated[
    str, Path(pattern=r"^[a-z0-9_-]{1,32}$", description="The provider that sent the messages, e.g. `smtp`.")
]


@webhooks.post("/webhooks/{provider}/events", summary="Delivery reports from a provider")
def provider_events(provider: ProviderName, batch: ProviderEventBatch, services: ServicesDep) -> ProviderEventsAccepted:
    """Each event names a message sent through ``provider`` by our ``message_id`` or the provider's
    ``provider_message_id``. ``spam`` flags a complaint and, like ``unsubscribed``, unsubscribes the customer
    from the channel. Good events are applied and bad ones reported; if every event is bad the answer is 422
    with the same errors in ``details``. A time in the future counts as now."""
    checked = check_rows(ProviderEvent, batch.events, "provider_message_id")
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        found = conn.execute(
            messages_of_provider(
                provider,
                ids=[e.message_id for _, e in checked.good if e.message_id is not None],
                provider_message_ids=[e.provider_message_id for _, e in checked.good if e.provider_message_id],
            )
        ).all()
        by_id = {row.id for row in found}
        by_provider_id = {row.provider_message_id: row.id for row in found}

        known: list[tuple[int, ProviderEvent]] = []
        for index, event in checked.good:
            problem = _unknown(event, provider, by_id, by_provider_id)
            if problem is None:
                known.append((index, event))
            else:  # the row is named by its provider id when it has one (our id is in the message)
                checked.problems.append(RowProblem(index, event.provider_message_id, *problem))
        checked.good = known
        checked.refuse_if_nothing_good("event")
        events = [
            TrackingEvent(
                event.message_id if event.message_id is not None else by_provider_id[event.provider_message_id],
                event.event,
                now if event.at is None else min(event.at, now),
            )
            for _, event in checked.good
        ]
        record_events(conn, services.db.dialect, events, now=now)
    return ProviderEventsAccepted(accepted=len(events), errors=[ProviderEventError(**e) for e in checked.report()])


def _unknown(
    event: ProviderEvent, provider: str, by_id: set[int], by_provider_id: dict[str, int]
) -> tuple[str, str] | None:
    """(field, message) when the event names no message sent through ``provider``."""
    if event.message_id is not None and event.message_id not in by_id:
        return "message_id", f"no message {event.message_id} was sent through {provider!r}"
    if event.provider_message_id is not None and event.provider_message_id not in by_provider_id:
        return "provider_message_id", (
            f"no message with provider_message_id {event.provider_message_id!r} was sent through {provider!r}"
        )
    return None
