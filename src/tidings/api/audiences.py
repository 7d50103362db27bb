"""Audiences: static named lists of customers, filled by API calls or CSV uploads."""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tidings.api.deps import MAX_ID, PageDep, ServicesDep
from tidings.api.limits import allow_body
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import InvalidInput, TidingsError
from tidings.segments.audiences import AudienceService, ImportReport
from tidings.services import Services

router = APIRouter(prefix="/audiences", tags=["audiences"], route_class=StrictJsonRoute)

AudienceIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Audience id.")]
ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
MAX_BATCH = 10_000
#: Content types a CSV upload may arrive with (the body is the file itself).
CSV_TYPES = {"text/csv", "text/plain", "application/csv", "application/octet-stream", "text/tab-separated-values"}
#: Upload bodies stay in memory up to this size, then spill to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024

CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The CSV file as the request body (`curl --data-binary @file.csv -H 'content-type: text/csv'`).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def audience_service(services: Services) -> AudienceService:
    return AudienceService(services.db, services.clock)


class UnsupportedUpload(TidingsError):
    code, http_status = "unsupported_media_type", 415


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="Unique name.")


class AudienceOut(BaseModel):
    id: int
    name: str
    size: int = Field(description="Customers in the audience.")
    created_at: datetime
    updated_at: datetime = Field(description="Last rename or change of members.")


class AudienceList(BaseModel):
    items: list[AudienceOut]
    total: int


class MembersChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[ExternalId] = Field(default_factory=list, max_length=MAX_BATCH, description="External ids to add.")
    remove: list[ExternalId] = Field(default_factory=list, max_length=MAX_BATCH, description="External ids to remove.")


class MembersChanged(BaseModel):
    audience_id: int
    added: int = Field(description="Customers who joined.")
    already_members: int = Field(description="Customers to add who were members already.")
    removed: int
    not_members: int = Field(description="Customers to remove who were not members.")
    unknown_customers: list[str] = Field(description="External ids of no known customer (nothing done for them).")
    size: int


class Member(BaseModel):
    external_id: str
    added_at: datetime


class Members(BaseModel):
    audience_id: int
    size: int
    items: list[Member]


class ImportLineError(BaseModel):
    line: int = Field(description="1-based line of the file.")
    external_id: str | None
    audience: str | None
    message: str


class ImportResult(BaseModel):
    rows: int = Field(description="Data rows read; rows = added + already_members + failed.")
    added: int
    already_members: int
    failed: int
    audiences_created: list[str]
    errors: list[ImportLineError]
    errors_omitted: int = Field(description="Problems beyond the listed ones.")


@router.post("", status_code=201, summary="Create an audience")
def create(body: AudienceIn, services: ServicesDep) -> AudienceOut:
    return AudienceOut(**audience_service(services).create(body.name))


@router.get("", summary="List audiences with their size and dates")
def list_audiences(services: ServicesDep, page: PageDep) -> AudienceList:
    items, total = audience_service(services).list_all(limit=page.limit, offset=page.offset)
    return AudienceList(items=[AudienceOut(**item) for item in items], total=total)


@router.post("/import", summary="Import memberships from CSV", openapi_extra=CSV_BODY)
async def import_csv(
    request: Request,
    services: ServicesDep,
    audience: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Put every customer of a one-column file into this audience (created if needed). "
            "Without it, each row is `external_id;audience` and audiences are created by name as needed.",
        ),
    ] = None,
) -> ImportResult:
    """Unknown customers and malformed rows are reported by line; the good rows are kept."""
    with await _spool(request) as upload:
        report = await run_in_threadpool(_import, services, upload, None, audience)
    return _result(report)


@router.get("/{audience_id}", summary="An audience")
def get(audience_id: AudienceIdPath, services: ServicesDep) -> AudienceOut:
    return AudienceOut(**audience_service(services).get(audience_id))


@router.patch("/{audience_id}", summary="Rename an audience")
def rename(audience_id: AudienceIdPath, body: AudienceIn, services: ServicesDep) -> AudienceOut:
    return AudienceOut(**audience_service(services).rename(audience_id, body.name))


@router.delete("/{audience_id}", status_code=204, summary="Delete an audience (its customers stay)")
def delete(audience_id: AudienceIdPath, services: ServicesDep) -> Response:
    audience_service(services).delete(audience_id)
    return Response(status_code=204)


@router.get("/{audience_id}/members", summary="The customers in an audience")
def members(audience_id: AudienceIdPath, services: ServicesDep, page: PageDep) -> Members:
    found = audience_service(services).members(audience_id, limit=page.limit, offset=page.offset)
    return Members(
        audience_id=found["audience_id"], size=found["size"], items=[Member(**item) for item in found["items"]]
    )


@router.post("/{audience_id}/members", summary="Add and remove customers by external id")
def change_members(audience_id: AudienceIdPath, body: MembersChange, services: ServicesDep) -> MembersChanged:
    """Unknown external ids are listed in ``unknown_customers`` and the known ones applied; when none is known
    the answer is 422 with the list in ``details``."""
    return MembersChanged(**audience_service(services).change_members(audience_id, body.add, body.remove))


@router.post("/{audience_id}/import", summary="Import a one-column CSV of external ids", openapi_extra=CSV_BODY)
async def import_into(audience_id: AudienceIdPath, request: Request, services: ServicesDep) -> ImportResult:
    """Unknown customers and malformed rows are reported by line; the good rows are kept."""
    with await _spool(request) as upload:
        report = await run_in_threadpool(_import, services, upload, audience_id, None)
    return _result(report)


async def _spool(request: Request) -> Any:
    """The request body (the CSV file) in a temporary file, read as it streams in."""
    kind = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if kind not in CSV_TYPES:
        raise UnsupportedUpload(
            f"send the CSV file itself as the request body with content-type text/csv, not {kind}",
            details={"accepted": sorted(CSV_TYPES)},
        )
    allow_body(request, request.app.state.services.settings.max_upload_bytes)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by the caller's with)
    try:
        async for chunk in request.stream():
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    if spool.tell() == 0:
        spool.close()
        raise InvalidInput("the CSV file is empty", details=[{"field": None, "in": "body", "message": "empty"}])
    spool.seek(0)
    return spool


def _import(services: Services, upload: BinaryIO, audience_id: int | None, audience_name: str | None) -> ImportReport:
    return audience_service(services).import_csv(upload, audience_id=audience_id, audience_name=audience_name)


def _result(report: ImportReport) -> ImportResult:
    return ImportResult(
        rows=report.rows,
        added=report.added,
        already_members=report.already_members,
        failed=report.failed,
        audiences_created=report.audiences_created,
        errors=[
            ImportLineError(line=e.line, external_id=e.external_id, audience=e.audience, message=e.message)
            for e in report.errors
        ],
        errors_omitted=report.errors_omitted,
    )
