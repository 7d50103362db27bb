"""Campaigns: documents and versions, the lifecycle, enrolment by API, and per-node statistics."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from tidings.api.deps import CampaignIdPath, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import NO_NUL, nul_path
from tidings.core.errors import DocumentInvalid, InvalidInput, NotFound
from tidings.core.outcomes import ENTERED, PERFORMED, by_family
from tidings.document.campaign import CampaignDocument
from tidings.store import campaigns as campaign_sql
from tidings.store import journeys

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=StrictJsonRoute)

#: The document is checked by the campaign service, whose errors name the node and the field; the body is
#: therefore passed through unvalidated and only documented here.
DocumentBody = Annotated[SkipValidation[CampaignDocument], Body(description="The campaign document.")]


class Created(BaseModel):
    id: int
    version: int
    status: str


class CampaignSummary(BaseModel):
    id: int
    name: str
    status: str = Field(description="draft | active | paused | stopped | archived")
    status_reason: str | None
    version: int = Field(description="The current version.")
    created_at: datetime
    updated_at: datetime


class CampaignListItem(CampaignSummary):
    orders: int = Field(description="Orders and receipts credited to the campaign's messages (last touch).")
    revenue: float = Field(description="Their total.")


class CampaignList(BaseModel):
    items: list[CampaignListItem]


class CampaignDetail(CampaignSummary):
    document: CampaignDocument


class Affected(BaseModel):
    stay: int = Field(description="Customers whose node survives the edit.")
    rerouted: int = Field(description="Customers moved to the first surviving child of a removed node.")
    dropped: int = Field(description="Customers released because their node and all its descendants went.")


class Updated(BaseModel):
    version: int
    dry_run: bool
    affected: Affected


class StatusChanged(BaseModel):
    id: int
    status: str


class EnrollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        min_length=1, max_length=10_000, description="External ids."
    )
    context: dict[str, Any] | None = Field(default=None, description="Made available to the campaign's templates.")


class Enrolled(BaseModel):
    entered: int
    not_entered: int = Field(description="Known customers the re-entry rules kept out.")
    unknown_customers: list[str]


class NodeStats(BaseModel):
    node_id: str
    type: str | None = Field(description="Node type; null for a node no longer in the current document.")
    title: str | None
    entered: int
    performed: int
    ports: dict[str, int] = Field(description="Customers sent out of each output.")
    dropped: dict[str, int] = Field(description="Customers who dropped out here, by reason.")
    suppressed: dict[str, int] = Field(
        default_factory=dict,
        description="Customers routed on without the action reaching them (e.g. control_group), by reason.",
    )
    removed: dict[str, int] = Field(default_factory=dict, description="Customers moved off by an edit, by reason.")
    waiting: int = Field(description="Customers at this node now.")


class CampaignStats(BaseModel):
    campaign_id: int
    version: int
    nodes: list[NodeStats]


def _refuse_nul(document: Any) -> None:
    """PostgreSQL stores no NUL character: refuse it on both databases, naming where it is."""
    where = nul_path(document, [])
    if where is not None:
        raise DocumentInvalid(
            f"invalid campaign: field {where!r}: {NO_NUL}", details=[{"node": None, "field": where, "message": NO_NUL}]
        )


@router.post("", status_code=201, summary="Create a campaign (draft)")
def create(document: DocumentBody, services: ServicesDep) -> Created:
    _refuse_nul(document)
    return Created(**services.campaigns.create(document))


@router.get("", summary="List campaigns")
def list_campaigns(services: ServicesDep) -> CampaignList:
    return CampaignList(items=[CampaignListItem(**row) for row in services.campaigns.list_all()])


@router.get("/{campaign_id}", summary="A campaign and its current document")
def get(campaign_id: CampaignIdPath, services: ServicesDep) -> CampaignDetail:
    return CampaignDetail(**services.campaigns.get(campaign_id))


@router.put("/{campaign_id}", summary="Save a new document")
def update(
    campaign_id: CampaignIdPath,
    document: DocumentBody,
    services: ServicesDep,
    dry_run: Annotated[bool, Query(description="Only report what the save would do to customers inside.")] = False,
) -> Updated:
    """A draft is edited in place; a campaign that has run gets a new version, and customers inside move on
    by node id (``affected`` says how many stay, are rerouted or dropped)."""
    _refuse_nul(document)
    return Updated(**services.campaigns.update(campaign_id, document, dry_run=dry_run))


def _transition_route(verb: str, summary: str) -> None:
    def transition(campaign_id: CampaignIdPath, services: ServicesDep) -> StatusChanged:
        return StatusChanged(**services.campaigns.transition(campaign_id, verb))

    transition.__name__ = verb
    router.add_api_route(
        f"/{{campaign_id}}/{verb}", transition, methods=["POST"], summary=summary, response_model=StatusChanged
    )


_transition_route("activate", "Activate a draft or paused campaign")
_transition_route("pause", "Pause an active campaign (customers inside wait)")
_transition_route("stop", "Stop a campaign for good (customers inside are released)")
_transition_route("archive", "Archive a draft or stopped campaign")


@router.post("/{campaign_id}/enroll", summary="Enrol customers into an active campaign")
def enroll(campaign_id: CampaignIdPath, body: EnrollIn, services: ServicesDep) -> Enrolled:
    where = nul_path(body.model_dump(), [])
    if where is not None:
        raise InvalidInput(f"{where}: {NO_NUL}", details=[{"field": where, "in": "body", "message": NO_NUL}])
    return Enrolled(**services.campaigns.enroll(campaign_id, body.customers, body.context))


@router.get("/{campaign_id}/stats", summary="Counters per node of the current document")
def stats(campaign_id: CampaignIdPath, services: ServicesDep) -> CampaignStats:
    """Every node of the current document (trigger first) with its counters, even when they are zero; nodes
    of earlier versions that still have counts follow with ``type`` null."""
    with services.db.engine.connect() as conn:
        row = conn.execute(campaign_sql.get_campaign(campaign_id)).mappings().first()
        if row is None:
            raise NotFound(f"campaign {campaign_id} does not exist", details={"campaign_id": campaign_id})
        document = services.documents.get(conn, campaign_id, row["current_version"])
        counters: dict[str, dict[str, int]] = defaultdict(dict)
        for node_id, metric, value in conn.execute(journeys.counters_of(campaign_id)):
            counters[node_id][metric] = int(value)
        waiting = {node_id: int(count) for node_id, count in conn.execute(journeys.waiting_by_node(campaign_id))}

    nodes: list[tuple[str, str | None, str | None]] = [
        (document.trigger.id, document.trigger.type, document.trigger.title)
    ]
    nodes += [(node.id, node.type, node.title) for node in document.nodes]
    listed = {node_id for node_id, _, _ in nodes}
    nodes += [(node_id, None, None) for node_id in sorted((set(counters) | set(waiting)) - listed)]
    result = []
    for node_id, node_type, title in nodes:
        metrics = counters.get(node_id, {})
        performed = metrics.get(PERFORMED, 0)
        ports = by_family(metrics, "port")
        entered = metrics.get(ENTERED, 0)
        if node_id == document.trigger.id:
            # Everyone the trigger admits enters the campaign and leaves by the trigger's one output.
            entered, ports = performed, {"out": performed}
        result.append(
            NodeStats(
                node_id=node_id,
                type=node_type,
                title=title,
                entered=entered,
                performed=performed,
                ports=ports,
                dropped=by_family(metrics, "dropped"),
                suppressed=by_family(metrics, "suppressed"),
                removed=by_family(metrics, "removed"),
                waiting=waiting.get(node_id, 0),
            )
        )
    return CampaignStats(campaign_id=campaign_id, version=row["current_version"], nodes=result)
