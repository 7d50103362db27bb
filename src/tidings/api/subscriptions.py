"""Channel and mailing-category subscriptions (spec 5.2, 7; examples E22, E23).

* ``GET/POST /customers/{external_id}/channels`` — channel permissions, ``{"email": "N", "push": "Y"}``; channels
  left out of a POST stay unchanged; a channel never set reads ``Y``.
* ``GET/PATCH /customers/{external_id}/subscriptions`` — categories the customer belongs to, per channel
  ``Y`` / ``N``; ``ND`` removes the customer from the category on that channel, and a category left with no
  channel is no longer listed; categories and channels left out of a PATCH stay unchanged.
* ``POST /subscriptions`` — the same changes for many customers, with per-row errors.

Turning a whole channel off (or on again) records a loyalty sync request in the same transaction; a category
change on a channel never does (``tidings.store.subscriptions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, SkipValidation
from sqlalchemy import Connection

from tidings.api.customers import find_customer
from tidings.api.deps import ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import check_rows
from tidings.core.errors import InvalidInput
from tidings.model.customers import Channel
from tidings.model.subscriptions import (
    CategoryStatus,
    ChannelStatus,
    ChannelStatuses,
    SubscriptionChange,
    SubscriptionRow,
)
from tidings.services import Services
from tidings.store import subscriptions as sub_sql
from tidings.store.customers import ids_by_external

router = APIRouter(tags=["subscriptions"], route_class=StrictJsonRoute)

ExternalIdPath = Annotated[str, Path(min_length=1, max_length=128, description="The customer's external id.")]
MAX_BATCH = 10_000
CREATE_CATEGORY = "create it with POST /api/v1/categories"


class Subscriptions(BaseModel):
    channels: dict[Channel, ChannelStatus] = Field(description="Every channel; Y where never set.")
    categories: dict[str, dict[Channel, CategoryStatus]] = Field(
        description="Only the categories the customer belongs to, with the channels they belong on."
    )


class SubscriptionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Rows are validated one by one in the route (bad rows are reported, good ones kept).
    customers: list[SkipValidation[SubscriptionRow]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Rows naming the same customer apply in order (later statuses win); the batch is applied "
        "as its net result, so a channel turned off and on again in one batch records no loyalty sync.",
    )


class SubscriptionRowError(BaseModel):
    index: int = Field(description="Position of the row in the batch, from 0.")
    customer: str | None
    field: str | None = Field(description="The offending field, e.g. `categories.promo` or `channels.fax`.")
    message: str


class BatchResult(BaseModel):
    applied: int = Field(description="Rows applied (a customer named twice counts twice).")
    loyalty_sync: int = Field(description="Loyalty sync requests recorded (channels turned off or on again).")
    errors: list[SubscriptionRowError]


def current(conn: Connection, customer_id: int) -> Subscriptions:
    return Subscriptions.model_validate(
        {
            "channels": sub_sql.channel_statuses(conn, customer_id),
            "categories": sub_sql.category_statuses(conn, customer_id),
        }
    )


def known_categories(conn: Connection, codes: Iterable[str]) -> dict[str, int]:
    wanted = set(codes)
    return dict(conn.execute(sub_sql.category_ids(wanted)).all()) if wanted else {}


def _apply_one(services: Services, external_id: str, change: SubscriptionChange) -> Subscriptions:
    with services.db.engine.begin() as conn:
        customer_id = find_customer(conn, external_id)["id"]
        categories = known_categories(conn, change.categories or {})
        unknown = sorted(set(change.categories or {}) - set(categories))
        if unknown:
            raise InvalidInput(
                f"unknown mailing category {unknown[0]!r}"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                + f"; {CREATE_CATEGORY}",
                details=[
                    {"field": f"categories.{code}", "in": "body", "message": "unknown mailing category"}
                    for code in unknown
                ],
            )
        sub_sql.apply_changes(conn, services.db.dialect, [(customer_id, change)], categories, services.clock.now())
        return current(conn, customer_id)


@router.get("/customers/{external_id}/channels", summary="A customer's channel permissions")
def get_channels(external_id: ExternalIdPath, services: ServicesDep) -> dict[Channel, ChannelStatus]:
    with services.db.engine.connect() as conn:
        return current(conn, find_customer(conn, external_id)["id"]).channels


@router.post("/customers/{external_id}/channels", summary="Change a customer's channel permissions")
def set_channels(
    external_id: ExternalIdPath, channels: ChannelStatuses, services: ServicesDep
) -> dict[Channel, ChannelStatus]:
    """Only the channels given change. Turning a channel off (``N``) or on again (``Y``) records one loyalty
    sync request ("Mailings" subscription of that channel inactive / active); the same status again records
    nothing."""
    return _apply_one(services, external_id, SubscriptionChange(channels=channels)).channels


@router.get("/customers/{external_id}/subscriptions", summary="A customer's channels and mailing categories")
def get_subscriptions(external_id: ExternalIdPath, services: ServicesDep) -> Subscriptions:
    """Lists only the categories the customer belongs to."""
    with services.db.engine.connect() as conn:
        return current(conn, find_customer(conn, external_id)["id"])


@router.patch("/customers/{external_id}/subscriptions", summary="Change a customer's mailing categories")
def patch_subscriptions(
    external_id: ExternalIdPath, change: SubscriptionChange, services: ServicesDep
) -> Subscriptions:
    """``{"categories": {"promo": {"email": "N"}}}``: categories and channels left out stay unchanged; ``ND``
    removes the customer from the category on that channel. Unsubscribing from a category is never propagated
    to the loyalty programme; ``channels`` may be given too, as in ``POST …/channels``. An unknown category is
    refused (422) and nothing changes."""
    return _apply_one(services, external_id, change)


@router.post("/subscriptions", summary="Change the subscriptions of many customers")
def batch(body: SubscriptionBatch, services: ServicesDep) -> BatchResult:
    """Each row is checked on its own — its shape, that the customer exists, that its categories exist — and the
    good rows are applied in one transaction. If every row is bad the answer is 422 with the same errors in
    ``details``."""
    checked = check_rows(SubscriptionRow, body.customers, "customer")
    with services.db.engine.begin() as conn:
        good = [row for _, row in checked.good]
        customers: dict[str, int] = dict(conn.execute(ids_by_external([row.customer for row in good])).all())
        categories = known_categories(conn, (code for row in good for code in row.categories or {}))
        checked.keep_if(
            lambda row: None if row.customer in customers else ("customer", f"unknown customer {row.customer!r}"),
            lambda row: row.customer,
        )
        checked.keep_if(
            lambda row: next(
                (
                    (f"categories.{code}", f"unknown mailing category {code!r}; {CREATE_CATEGORY}")
                    for code in row.categories or {}
                    if code not in categories
                ),
                None,
            ),
            lambda row: row.customer,
        )
        checked.refuse_if_nothing_good("subscription change")
        synced = sub_sql.apply_changes(
            conn,
            services.db.dialect,
            [(customers[row.customer], row) for _, row in checked.good],
            categories,
            services.clock.now(),
        )
    return BatchResult(
        applied=len(checked.good),
        loyalty_sync=len(synced),
        errors=[SubscriptionRowError(**error) for error in checked.report()],
    )
