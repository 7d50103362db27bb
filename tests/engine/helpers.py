"""Small builders shared by engine tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from tidings.model.customers import CustomerIn
from tidings.services import Services
from tidings.store.customers import upsert_customers
from tidings.store.tables import journey_state, journey_trace, mailbox, messages


def add_customers(services: Services, *rows: dict[str, Any]) -> dict[str, int]:
    with services.db.engine.begin() as conn:
        return upsert_customers(conn, services.db.dialect, [CustomerIn(**row) for row in rows], services.clock.now())


def campaign(*nodes: dict[str, Any], edges: list[tuple[str, str] | tuple[str, str, str]],
             trigger: dict[str, Any] | None = None, **settings: Any) -> dict[str, Any]:
    return {
        "name": "Test campaign",
        "settings": settings,
        "trigger": trigger or {"id": "trigger", "type": "api_enrollment", "config": {}},
        "nodes": list(nodes),
        "edges": [
            {"source": e[0], "target": e[1], **({"source_port": e[2]} if len(e) == 3 else {})}  # type: ignore[misc]
            for e in edges
        ],
    }


def email_node(node_id: str, subject: str = "Hello {{ customer.first_name }}") -> dict[str, Any]:
    return {"id": node_id, "type": "send_email", "config": {"subject": subject, "body_html": "<p>Hi</p>"}}


def wait_node(node_id: str, amount: int, unit: str = "days") -> dict[str, Any]:
    return {"id": node_id, "type": "wait", "config": {"amount": amount, "unit": unit}}


def start(services: Services, document: dict[str, Any]) -> int:
    campaign_id = int(services.campaigns.create(document)["id"])
    services.campaigns.transition(campaign_id, "activate")
    return campaign_id


def advance(services: Services, **delta: float) -> None:
    services.advancer.advance_to(services.clock.now() + timedelta(**delta))


def where_is(services: Services, customer_id: int) -> list[str]:
    with services.db.engine.connect() as conn:
        return sorted(conn.execute(select(journey_state.c.node_id)
                                   .where(journey_state.c.customer_id == customer_id)).scalars())


def mailbox_count(services: Services, recipient: str | None = None) -> int:
    query = select(func.count()).select_from(mailbox)
    if recipient:
        query = query.where(mailbox.c.recipient == recipient)
    with services.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def message_count(services: Services, node_id: str | None = None) -> int:
    query = select(func.count()).select_from(messages)
    if node_id:
        query = query.where(messages.c.node_id == node_id)
    with services.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def trace(services: Services, customer_id: int) -> list[tuple[str, str, str | None, str | None]]:
    query = (select(journey_trace.c.node_id, journey_trace.c.outcome, journey_trace.c.port, journey_trace.c.reason)
             .where(journey_trace.c.customer_id == customer_id).order_by(journey_trace.c.id))
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]
