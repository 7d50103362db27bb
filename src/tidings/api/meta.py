"""Health and the JSON Schemas of the campaign document and the condition language (they drive the editor's forms)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, TypeAdapter

from tidings.api.deps import ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.document.campaign import CampaignDocument
from tidings.model.conditions import Condition

router = APIRouter(tags=["meta"], route_class=StrictJsonRoute)
health_router = APIRouter(tags=["meta"], route_class=StrictJsonRoute)  # public: load balancers and monitors


class Health(BaseModel):
    status: str
    clock: str
    now: datetime


@health_router.get("/health", summary="Liveness")
def health(services: ServicesDep) -> Health:
    return Health(status="ok", clock=services.settings.clock, now=services.clock.now())


@router.get("/schema/campaign", summary="JSON Schema of the campaign document")
def campaign_schema() -> dict[str, Any]:
    return CampaignDocument.model_json_schema()


@router.get("/schema/condition", summary="JSON Schema of the condition language (filters, segments)")
def condition_schema() -> dict[str, Any]:
    return TypeAdapter(Condition).json_schema()
