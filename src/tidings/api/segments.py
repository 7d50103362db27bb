"""Segments: saved conditions with a stored membership, a live preview, and on-demand recompute."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, SkipValidation, StringConstraints

from tidings.api.deps import MAX_ID, PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import NO_NUL, nul_path
from tidings.core.errors import ConditionInvalid
from tidings.model.conditions import Condition
from tidings.segments.segments import SegmentService
from tidings.services import Services

router = APIRouter(prefix="/segments", tags=["segments"], route_class=StrictJsonRoute)

SegmentIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Segment id.")]
SampleQuery = Annotated[int, Query(ge=0, le=100, description="How many matching customers to show.")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
#: The condition is checked by the segment service against the catalog (declared custom fields, segments,
#: audiences), whose errors name the path in the tree; the body only documents its schema.
ConditionBody = SkipValidation[Condition]


def segment_service(services: Services) -> SegmentService:
    return SegmentService(services.db, services.clock)


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    condition: ConditionBody = Field(description="Who belongs: a condition tree (see the campaign schema).")
    recompute_minutes: int = Field(
        default=360, ge=1, le=43_200, description="Recompute the stored membership this often (at most 30 days)."
    )


class SegmentOut(BaseModel):
    id: int
    name: str
    condition: dict[str, Any]
    recompute_minutes: int
    size: int = Field(description="Members at the last recompute.")
    last_computed_at: datetime | None
    next_recompute_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SegmentList(BaseModel):
    items: list[SegmentOut]
    total: int


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    condition: ConditionBody
    sample: int = Field(default=10, ge=0, le=100, description="How many matching customers to show.")


class CustomerBrief(BaseModel):
    external_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    city: str | None


class Preview(BaseModel):
    count: int = Field(description="Customers matching the condition now (computed live, not stored).")
    computed_at: datetime
    sample: list[CustomerBrief] = Field(description="The first matching customers, by id.")


class Recomputed(BaseModel):
    segment_id: int
    entered: int = Field(description="Customers who joined.")
    left: int = Field(description="Customers who left.")
    size: int
    computed_at: datetime
    next_recompute_at: datetime
    baseline: bool = Field(
        description="True when the joiners were not handed to `getting_into_segment` triggers: the first "
        "computation, or the first after the condition changed."
    )


class Member(BaseModel):
    external_id: str
    since: datetime = Field(description="The recompute at which the customer joined.")


class Members(BaseModel):
    segment_id: int
    size: int
    computed_at: datetime | None = Field(description="The recompute this membership is from.")
    items: list[Member]


def _refuse_nul(condition: Any) -> None:
    """PostgreSQL stores no NUL character: refuse one on both databases, naming where it is."""
    where = nul_path(condition, [])
    if where is not None:
        path = "condition" if where == "(row)" else "condition" + ("" if where.startswith("[") else ".") + where
        raise ConditionInvalid(f"invalid condition: {path}: {NO_NUL}", [{"field": path, "message": NO_NUL}])


@router.post("", status_code=201, summary="Create a segment (its membership is computed at once)")
def create(body: SegmentIn, services: ServicesDep) -> SegmentOut:
    """The first computation is a baseline: the customers who match now are members, but they do not count as
    having entered the segment, so campaigns listening to it are not flooded."""
    _refuse_nul(body.condition)
    return SegmentOut(**segment_service(services).create(body.name, body.condition, body.recompute_minutes))


@router.get("", summary="List segments")
def list_segments(services: ServicesDep, page: PageDep) -> SegmentList:
    items, total = segment_service(services).list_all(limit=page.limit, offset=page.offset)
    return SegmentList(items=[SegmentOut(**item) for item in items], total=total)


@router.post("/preview", summary="Count the customers a condition selects now, with a sample")
def preview(body: PreviewIn, services: ServicesDep) -> Preview:
    _refuse_nul(body.condition)
    return Preview(**segment_service(services).preview(body.condition, sample=body.sample))


@router.get("/{segment_id}", summary="A segment")
def get(segment_id: SegmentIdPath, services: ServicesDep) -> SegmentOut:
    return SegmentOut(**segment_service(services).get(segment_id))


@router.put("/{segment_id}", summary="Replace a segment's name, condition and interval")
def update(segment_id: SegmentIdPath, body: SegmentIn, services: ServicesDep) -> SegmentOut:
    """A changed condition is recomputed at once, as a baseline: customers who match only because the
    definition changed do not count as having entered the segment."""
    _refuse_nul(body.condition)
    return SegmentOut(**segment_service(services).update(segment_id, body.name, body.condition, body.recompute_minutes))


@router.delete("/{segment_id}", status_code=204, summary="Delete a segment and its membership")
def delete(segment_id: SegmentIdPath, services: ServicesDep) -> Response:
    """Refused (409) while an active or paused campaign's trigger listens to the segment."""
    segment_service(services).delete(segment_id)
    return Response(status_code=204)


@router.get("/{segment_id}/preview", summary="The live count and sample of a saved segment's condition")
def preview_saved(segment_id: SegmentIdPath, services: ServicesDep, sample: SampleQuery = 10) -> Preview:
    return Preview(**segment_service(services).preview_saved(segment_id, sample=sample))


@router.post("/{segment_id}/recompute", summary="Recompute the stored membership now")
def recompute(segment_id: SegmentIdPath, services: ServicesDep) -> Recomputed:
    """Customers who joined are handed to the active campaigns listening to the segment, as at a scheduled
    recompute; they enter at the scheduler's next tick."""
    done = segment_service(services).recompute_now(segment_id)
    return Recomputed(
        segment_id=done.segment_id,
        entered=done.entered,
        left=done.left,
        size=done.size,
        computed_at=done.computed_at,
        next_recompute_at=done.next_recompute_at,
        baseline=done.baseline,
    )


@router.get("/{segment_id}/members", summary="The stored membership, as of the last recompute")
def members(segment_id: SegmentIdPath, services: ServicesDep, page: PageDep) -> Members:
    found = segment_service(services).members(segment_id, limit=page.limit, offset=page.offset)
    return Members(
        segment_id=found["segment_id"],
        size=found["size"],
        computed_at=found["computed_at"],
        items=[Member(**item) for item in found["items"]],
    )
