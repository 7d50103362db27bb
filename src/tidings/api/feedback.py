"""Bounces and complaints as the e-mail providers report them (``delivery.feedback``).

``public`` (under ``/api/v1``, no credential: each provider authenticates by its own signature):

- ``POST /feedback/{source}`` — ``ses`` (Amazon SNS), ``sendgrid``, ``mailgun``, ``postmark``. A bad signature
  answers 401 and changes nothing; a source that is not configured answers 404 naming the setting; a signed report
  that cannot be read answers 422 with what was wrong and is kept for inspection; a report about mail we did not
  send is skipped and counted as ignored (a hard bounce or complaint still suppresses its address).

``router`` (under ``/api/v1``, reading ``messages``):

- ``GET /feedback/refused`` — the refused reports, latest first, as they arrived.
- ``GET /suppressions`` — the addresses no e-mail goes to any more, and why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from tidings.api.deps import ServicesDep
from tidings.delivery.feedback import FeedbackInvalid, apply_feedback, keep_refused
from tidings.services import Services
from tidings.store.feedback_reports import refused_reports
from tidings.store.suppressions import list_suppressions

public = APIRouter(tags=["tracking"])
router = APIRouter(tags=["tracking"])

Source = Literal["ses", "sendgrid", "mailgun", "postmark"]
#: A provider's request larger than this is refused unread.
MAX_BODY = 1_000_000


class FeedbackAccepted(BaseModel):
    applied: int
    suppressed: int
    ignored: int


class RefusedReport(BaseModel):
    id: int
    source: str
    error: str
    body: str
    received_at: datetime


class SuppressionOut(BaseModel):
    address: str
    reason: str
    source: str
    detail: str
    message_id: int | None
    created_at: datetime


@public.post("/feedback/{source}", summary="Bounces and complaints from an e-mail provider")
async def provider_feedback(source: Source, request: Request, services: ServicesDep) -> FeedbackAccepted:
    """What the provider reports, in its own format and signed its own way (docs/deliverability.md)."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise FeedbackInvalid(f"the {source} webhook's body is larger than {MAX_BODY} bytes")
    headers = {name.lower(): value for name, value in request.headers.items()}
    return await run_in_threadpool(_receive, services, source, body, headers)


def _receive(services: Services, source: Source, body: bytes, headers: dict[str, str]) -> FeedbackAccepted:
    adapter = services.feedback[source]
    now = services.clock.now()
    adapter.verify(body, headers, now)  # SignatureInvalid: 401, nothing kept
    try:
        items = adapter.read(body, now)
        with services.db.engine.begin() as conn:
            applied = apply_feedback(conn, services.db.dialect, items, source=source, now=now)
    except FeedbackInvalid as error:
        with services.db.engine.begin() as conn:
            keep_refused(conn, source=source, error=error.message, body=body.decode("utf-8", "replace"), at=now)
        raise
    return FeedbackAccepted(applied=applied.applied, suppressed=applied.suppressed, ignored=applied.ignored)


@router.get("/feedback/refused", summary="Refused provider and bounce-mailbox reports")
def refused(
    services: ServicesDep,
    source: Annotated[str | None, Query(max_length=32, description="Only this source's.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RefusedReport]:
    with services.db.engine.connect() as conn:
        rows = conn.execute(refused_reports(limit=limit, source=source)).mappings()
        return [RefusedReport.model_validate(dict(row)) for row in rows]


@router.get("/suppressions", summary="Addresses no e-mail goes to any more")
def suppressions(
    services: ServicesDep,
    after: Annotated[str | None, Query(max_length=320, description="The page after this address.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SuppressionOut]:
    with services.db.engine.connect() as conn:
        rows = conn.execute(list_suppressions(limit=limit, after=after)).mappings()
        return [SuppressionOut.model_validate(dict(row)) for row in rows]
