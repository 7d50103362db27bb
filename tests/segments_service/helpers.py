"""Small builders shared by the segment and audience service tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from tidings.segments.audiences import AudienceService
from tidings.segments.segments import SegmentService
from tidings.services import Services
from tidings.store.tables import audience_members, customers, segment_members, trigger_inbox


def segment_service(services: Services) -> SegmentService:
    return SegmentService(services.db, services.clock)


def audience_service(services: Services) -> AudienceService:
    return AudienceService(services.db, services.clock)


def city_is(*cities: str) -> dict[str, Any]:
    return {"field": "city", "op": "in", "value": list(cities)}


def members(services: Services, segment_id: int) -> dict[str, datetime]:
    """external id → since, of the stored membership."""
    query = (
        select(customers.c.external_id, segment_members.c.since)
        .join(customers, customers.c.id == segment_members.c.customer_id)
        .where(segment_members.c.segment_id == segment_id)
    )
    with services.db.engine.connect() as conn:
        return {external_id: since for external_id, since in conn.execute(query)}


def audience_of(services: Services, audience_id: int) -> set[str]:
    query = (
        select(customers.c.external_id)
        .join(audience_members, audience_members.c.customer_id == customers.c.id)
        .where(audience_members.c.audience_id == audience_id)
    )
    with services.db.engine.connect() as conn:
        return set(conn.execute(query).scalars())


def inbox(services: Services) -> list[tuple[int, int | None, int | None]]:
    """(campaign_id, customer_id, event_id) of the pending trigger inbox rows."""
    query = select(trigger_inbox.c.campaign_id, trigger_inbox.c.customer_id, trigger_inbox.c.event_id).order_by(
        trigger_inbox.c.id
    )
    with services.db.engine.connect() as conn:
        return [(a, b, c) for a, b, c in conn.execute(query)]
