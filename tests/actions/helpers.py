"""Builders for action tests: nodes, segments and audiences (inserted directly, as test data), and readers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select

from tidings.services import Services
from tidings.store.tables import audience_members, audiences, campaigns, entries, segment_members, segments


def node(node_id: str, type_: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "config": config}


#: Segments made here hold the membership a test gives them: their scheduled recompute never comes.
NEVER = datetime(2100, 1, 1, tzinfo=UTC)


def make_segment(services: Services, name: str, members: list[int]) -> int:
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        inserted = conn.execute(
            segments.insert().values(
                name=name, condition={"all": []}, next_recompute_at=NEVER, created_at=now, updated_at=now
            )
        ).inserted_primary_key
        assert inserted is not None
        segment_id = int(inserted[0])
        if members:
            conn.execute(
                segment_members.insert(),
                [{"segment_id": segment_id, "customer_id": member, "since": now} for member in members],
            )
    return segment_id


def drop_segment(services: Services, segment_id: int) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(delete(segments).where(segments.c.id == segment_id))


def make_audience(services: Services, name: str, members: list[int] | None = None) -> int:
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        inserted = conn.execute(
            audiences.insert().values(name=name, created_at=now, updated_at=now)
        ).inserted_primary_key
        assert inserted is not None
        audience_id = int(inserted[0])
        if members:
            conn.execute(
                audience_members.insert(),
                [{"audience_id": audience_id, "customer_id": member, "added_at": now} for member in members],
            )
    return audience_id


def audience_ids(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        return {name: int(id_) for id_, name in conn.execute(select(audiences.c.id, audiences.c.name))}


def members_of(services: Services, audience_id: int) -> set[int]:
    query = select(audience_members.c.customer_id).where(audience_members.c.audience_id == audience_id)
    with services.db.engine.connect() as conn:
        return {int(customer) for customer in conn.execute(query).scalars()}


def control_customers(services: Services, campaign_id: int) -> set[int]:
    query = select(entries.c.customer_id).where(entries.c.campaign_id == campaign_id, entries.c.is_control.is_(True))
    with services.db.engine.connect() as conn:
        return {int(customer) for customer in conn.execute(query).scalars()}


def entry_count(services: Services, campaign_id: int) -> int:
    query = select(func.count()).select_from(entries).where(entries.c.campaign_id == campaign_id)
    with services.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def campaign_row(services: Services, campaign_id: int) -> dict[str, Any]:
    with services.db.engine.connect() as conn:
        return dict(conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).mappings().one())


def node_metrics(values: dict[tuple[str, str], int], node_id: str) -> dict[str, int]:
    return {metric: value for (node_, metric), value in values.items() if node_ == node_id}
