"""Small builders shared by engine tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, update

from tidings.engine.advance import DueNode, advance_chunk
from tidings.model.customers import CustomerIn
from tidings.services import Services
from tidings.store.account import save_account
from tidings.store.campaigns import route_events_to_inbox
from tidings.store.customers import upsert_customers
from tidings.store.journeys import counters_of, trace_of_customer
from tidings.store.tables import (
    category_subscriptions,
    customers,
    entries,
    events,
    journey_state,
    journey_trace,
    mailbox,
    mailing_categories,
    messages,
)

T = TypeVar("T")


def add_customers(services: Services, *rows: dict[str, Any]) -> dict[str, int]:
    with services.db.engine.begin() as conn:
        return upsert_customers(conn, services.db.dialect, [CustomerIn(**row) for row in rows], services.clock.now())


def campaign(
    *nodes: dict[str, Any],
    edges: list[tuple[str, str] | tuple[str, str, str]],
    trigger: dict[str, Any] | None = None,
    **settings: Any,
) -> dict[str, Any]:
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
        return sorted(
            conn.execute(select(journey_state.c.node_id).where(journey_state.c.customer_id == customer_id)).scalars()
        )


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
    query = (
        select(journey_trace.c.node_id, journey_trace.c.outcome, journey_trace.c.port, journey_trace.c.reason)
        .where(journey_trace.c.customer_id == customer_id)
        .order_by(journey_trace.c.id)
    )
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


# -- time, account, counters, tokens, entries, events, categories (engine behaviour tests) --------------
def advance_to(services: Services, moment: datetime) -> None:
    services.advancer.advance_to(moment)


def set_timezone(services: Services, timezone: str) -> None:
    with services.db.engine.begin() as conn:
        save_account(conn, {"timezone": timezone})


def filter_node(node_id: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "type": "filter_customers", "config": {"condition": condition}}


def counters(services: Services, campaign_id: int) -> dict[tuple[str, str], int]:
    with services.db.engine.connect() as conn:
        return {(node, metric): int(value) for node, metric, value in conn.execute(counters_of(campaign_id))}


def tokens(services: Services, campaign_id: int) -> list[tuple[int, str, datetime]]:
    """(customer_id, node_id, due_at) of every token of the campaign, by customer and node."""
    query = (
        select(journey_state.c.customer_id, journey_state.c.node_id, journey_state.c.due_at)
        .where(journey_state.c.campaign_id == campaign_id)
        .order_by(journey_state.c.customer_id, journey_state.c.node_id)
    )
    with services.db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def entry_rows(services: Services, campaign_id: int) -> list[dict[str, Any]]:
    query = select(entries).where(entries.c.campaign_id == campaign_id).order_by(entries.c.entered_at, entries.c.id)
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def trace_rows(services: Services, customer_id: int, campaign_id: int | None = None) -> list[dict[str, Any]]:
    with services.db.engine.connect() as conn:
        return [dict(row) for row in conn.execute(trace_of_customer(customer_id, campaign_id)).mappings()]


def post_events(services: Services, *rows: tuple[int | None, str, dict[str, Any]]) -> None:
    """Store events (customer_id, name, properties) occurring now and route them to event triggers, in one
    transaction, as ingestion does."""
    now = services.clock.now()
    batch = str(uuid.uuid4())
    with services.db.engine.begin() as conn:
        conn.execute(
            events.insert(),
            [
                {
                    "customer_id": customer_id,
                    "name": name,
                    "properties": properties,
                    "occurred_at": now,
                    "received_at": now,
                    "ingest_batch": batch,
                }
                for customer_id, name, properties in rows
            ],
        )
        conn.execute(route_events_to_inbox(batch))


def add_category(services: Services, code: str) -> int:
    with services.db.engine.begin() as conn:
        inserted = conn.execute(mailing_categories.insert().values(code=code, name=code.title())).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def subscribe_category(
    services: Services, customer_id: int, category_id: int, status: str = "Y", channel: str = "email"
) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(
            category_subscriptions.insert().values(
                customer_id=customer_id,
                category_id=category_id,
                channel=channel,
                status=status,
                updated_at=services.clock.now(),
            )
        )


def set_points(services: Services, customer_id: int, balance: float) -> None:
    with services.db.engine.begin() as conn:
        conn.execute(update(customers).where(customers.c.id == customer_id).values(points_balance=balance))


def unbalanced_counters(services: Services, campaign_id: int) -> dict[str, dict[str, int]]:
    """Nodes whose counters do not add up: entered must equal performed + dropped + removed + still inside."""
    values = counters(services, campaign_id)
    inside: dict[str, int] = {}
    for _, node_id, _ in tokens(services, campaign_id):
        inside[node_id] = inside.get(node_id, 0) + 1
    nodes = {node for node, metric in values if metric == "entered"} | set(inside)
    wrong: dict[str, dict[str, int]] = {}
    for node in sorted(nodes):
        left = sum(
            value
            for (n, metric), value in values.items()
            if n == node and (metric == "performed" or metric.split(":")[0] in ("dropped", "removed"))
        )
        entered = values.get((node, "entered"), 0)
        if entered != left + inside.get(node, 0):
            wrong[node] = {"entered": entered, "left": left, "inside": inside.get(node, 0)}
    return wrong


def all_at_once(*work: Callable[[], T]) -> list[T]:
    """Run each of ``work`` in its own thread, all released together, as concurrent workers would; their results in
    order, or the first error any of them raised."""
    barrier = threading.Barrier(len(work))
    results: dict[int, T] = {}
    failures: list[BaseException] = []

    def run(index: int, job: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except BaseException as error:  # raised below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [results[index] for index in range(len(work))]


def chunks_at_once(services: Services, campaign_id: int, node_id: str, *sizes: int) -> None:
    """Advance one chunk of each size at the node, each in its own thread and all started together, as worker
    processes would."""
    at = DueNode(campaign_id, node_id)

    def chunk(size: int) -> Callable[[], object]:
        return lambda: advance_chunk(services.db, services.documents, at, services.clock.now(), limit=size)

    all_at_once(*(chunk(size) for size in sizes))
