"""Customers: batch upsert by external id, the profile, and the per-customer journey trace."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, SkipValidation
from sqlalchemy import Connection, RowMapping

from tidings.api.deps import PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import check_rows
from tidings.core.errors import NotFound
from tidings.document.registry import ACTIONS, TRIGGERS
from tidings.model.custom_fields import type_attributes
from tidings.model.customers import CustomerIn, merge_duplicates
from tidings.model.statuses import EntryStatus
from tidings.services import Services
from tidings.store import campaigns as campaign_sql
from tidings.store import journeys
from tidings.store.custom_fields import declared_types
from tidings.store.customers import get_by_external, search_customers, subscriptions_of, upsert_customers
from tidings.store.subscriptions import withheld_message, withhold_suppressed

router = APIRouter(prefix="/customers", tags=["customers"], route_class=StrictJsonRoute)

MAX_BATCH = 10_000


class CustomerBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Rows are validated one by one in the route (bad rows are reported, good ones kept), so the body model
    # only documents their schema.
    customers: list[SkipValidation[CustomerIn]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Upserted by external_id. Fields left out keep their stored value; null clears a field. "
        "Rows naming the same external_id apply in order, like separate upserts: later fields win.",
    )


class CustomerRowError(BaseModel):
    index: int = Field(description="Position of the row in the batch, from 0.")
    external_id: str | None
    field: str | None = Field(description="Path of the offending field, e.g. `email` or `subscriptions.sms`.")
    message: str


class UpsertResult(BaseModel):
    upserted: int = Field(description="Rows applied (a customer named twice counts twice).")
    errors: list[CustomerRowError]
    withheld: list[CustomerRowError] = Field(
        default_factory=list,
        description="Consents left out of rows that were applied: a channel the customer switched off with a spam "
        "complaint or an unsubscribe stays off (the suppression list); only the customer's own consent "
        "(PATCH /customers/{id}/subscriptions) turns it on again.",
    )


class CustomerOut(BaseModel):
    external_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    middle_name: str | None
    birthday: date | None
    gender: str | None
    city: str | None
    timezone: str | None
    registered_at: datetime | None
    store_code: str | None
    attributes: dict[str, Any]
    subscriptions: dict[str, bool] = Field(description="Channel consent, e.g. {email: true, sms: false}.")
    points: float = Field(description="Points balance.")
    created_at: datetime
    updated_at: datetime


class CustomerListItem(BaseModel):
    external_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    city: str | None


class CustomerList(BaseModel):
    items: list[CustomerListItem]
    limit: int
    offset: int
    has_more: bool = Field(description="Whether another page follows.")


class Step(BaseModel):
    node: str
    title: str = Field(description="The node as the marketer named it (else its type's title), e.g. Lives in Riga?")
    arrived_at: datetime
    at: datetime
    outcome: str = Field(description="performed | dropped")
    port: str | None = Field(description="The output the customer left by.")
    reason: str | None = Field(description="Why the customer dropped out, e.g. no_contact.")


class Waiting(BaseModel):
    node: str
    title: str = Field(description="The node as the marketer named it (else its type's title).")
    arrived_at: datetime
    due_at: datetime = Field(description="When the node acts on the customer next.")


class Journey(BaseModel):
    entry_id: int
    campaign_id: int
    campaign_name: str | None
    version: int
    status: EntryStatus
    entered_at: datetime
    finished_at: datetime | None
    steps: list[Step]
    waiting: list[Waiting]


class CustomerJourneys(BaseModel):
    customer: str
    journeys: list[Journey]


def node_titles(conn: Connection, services: Services, campaign_id: int, version: int) -> dict[str, str]:
    """Each node of a campaign version by the title typed for it, else its type's title (as the editor shows it)."""
    try:
        document = services.documents.get(conn, campaign_id, version)
    except NotFound:
        return {}
    titles = {}
    for node in [document.trigger, *document.nodes]:
        kind = TRIGGERS[node.type].title if node is document.trigger else ACTIONS[node.type].title
        titles[node.id] = node.title or kind
    return titles


def find_customer(conn: Connection, external_id: str) -> RowMapping:
    row = conn.execute(get_by_external(external_id)).mappings().first()
    if row is None:
        raise NotFound(f"customer {external_id!r} does not exist", details={"external_id": external_id})
    return row


@router.post("", summary="Upsert customers in a batch")
def upsert(batch: CustomerBatch, services: ServicesDep) -> UpsertResult:
    """Validate each row on its own; store the good ones in one transaction and report the bad ones. Every
    attribute must be a declared custom field with a value of its type (stored in the type's canonical form).
    If every row is bad the answer is 422 with the same errors in ``details``."""
    checked = check_rows(CustomerIn, batch.customers, "external_id")
    with services.db.engine.begin() as conn:
        declared = declared_types(conn)
        checked.keep_if(lambda row: type_attributes(row, declared), lambda row: row.external_id)
        checked.refuse_if_nothing_good("customer")
        rows, withheld = withhold_suppressed(conn, merge_duplicates([row for _, row in checked.good]))
        upsert_customers(conn, services.db.dialect, rows, services.clock.now())
    index = {row.external_id: position for position, row in checked.good}
    return UpsertResult(
        upserted=len(checked.good),
        errors=[CustomerRowError(**e) for e in checked.report()],
        withheld=[
            CustomerRowError(
                index=index[item.external_id],
                external_id=item.external_id,
                field=f"subscriptions.{item.channel}",
                message=withheld_message(item),
            )
            for item in withheld
        ],
    )


@router.get("", summary="Customers, a page at a time; found by name, e-mail, phone or external id")
def list_customers(
    services: ServicesDep,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=200, description="Part of a name, e-mail, phone or external id.")] = None,
) -> CustomerList:
    with services.db.engine.connect() as conn:
        rows = conn.execute(search_customers(q, limit=page.limit + 1, offset=page.offset)).mappings().all()
    items = [CustomerListItem(**row) for row in rows[: page.limit]]
    return CustomerList(items=items, limit=page.limit, offset=page.offset, has_more=len(rows) > page.limit)


@router.get("/{external_id}", summary="A customer's profile")
def profile(external_id: str, services: ServicesDep) -> CustomerOut:
    with services.db.engine.connect() as conn:
        row = find_customer(conn, external_id)
        subscriptions = {channel: status == "Y" for channel, status in conn.execute(subscriptions_of(row["id"]))}
    return CustomerOut(
        **{name: row[name] for name in CustomerOut.model_fields if name in row and name != "subscriptions"},
        subscriptions=subscriptions,
        points=float(row["points_balance"]),
    )


@router.get("/{external_id}/journeys", summary="Where a customer went in every campaign, and why")
def customer_journeys(external_id: str, services: ServicesDep) -> CustomerJourneys:
    with services.db.engine.connect() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        entries = conn.execute(journeys.entries_of_customer(customer_id)).mappings().all()
        versions = {entry["id"]: (entry["campaign_id"], entry["version"]) for entry in entries}
        titles = {key: node_titles(conn, services, *key) for key in set(versions.values())}

        def title(entry_id: int, node_id: str) -> str:
            return titles.get(versions.get(entry_id, (0, 0)), {}).get(node_id, node_id)

        steps: dict[int, list[Step]] = {}
        for step in conn.execute(journeys.trace_of_customer(customer_id)).mappings():
            steps.setdefault(step["entry_id"], []).append(
                Step(
                    node=step["node_id"],
                    title=title(step["entry_id"], step["node_id"]),
                    arrived_at=step["arrived_at"],
                    at=step["at"],
                    outcome=step["outcome"],
                    port=step["port"],
                    reason=step["reason"],
                )
            )
        waiting: dict[int, list[Waiting]] = {}
        for token in conn.execute(journeys.tokens_of_customer(customer_id)).mappings():
            waiting.setdefault(token["entry_id"], []).append(
                Waiting(
                    node=token["node_id"],
                    title=title(token["entry_id"], token["node_id"]),
                    arrived_at=token["arrived_at"],
                    due_at=token["due_at"],
                )
            )
        names: dict[int, str | None] = {}
        for campaign_id in {entry["campaign_id"] for entry in entries}:
            campaign = conn.execute(campaign_sql.get_campaign(campaign_id)).mappings().first()
            names[campaign_id] = campaign["name"] if campaign is not None else None
    return CustomerJourneys(
        customer=external_id,
        journeys=[
            Journey(
                entry_id=entry["id"],
                campaign_id=entry["campaign_id"],
                campaign_name=names[entry["campaign_id"]],
                version=entry["version"],
                status=entry["status"],
                entered_at=entry["entered_at"],
                finished_at=entry["finished_at"],
                steps=steps.get(entry["id"], []),
                waiting=waiting.get(entry["id"], []),
            )
            for entry in entries
        ],
    )
