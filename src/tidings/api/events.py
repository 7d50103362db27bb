"""Customer events: stored in batches and, in the same transaction, handed to the event triggers."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from tidings.api.deps import ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import check_rows
from tidings.model.events import EventIn
from tidings.store.customers import ids_by_external
from tidings.store.events import NewEvent, insert_events

router = APIRouter(prefix="/events", tags=["events"], route_class=StrictJsonRoute)

MAX_BATCH = 10_000
#: An occurred_at this little ahead of the server's clock is sender clock skew and is stored as "now";
#: further ahead it is refused, since an event from the future would never fire a trigger.
CLOCK_SKEW = timedelta(minutes=5)


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Rows are validated one by one in the route, so the body model only documents their schema.
    events: list[SkipValidation[EventIn]] = Field(min_length=1, max_length=MAX_BATCH)


class EventRowError(BaseModel):
    index: int = Field(description="Position of the event in the batch, from 0.")
    customer: str | None
    field: str | None = Field(description="Path of the offending field, e.g. `properties` or `customer`.")
    message: str


class EventsAccepted(BaseModel):
    accepted: int
    errors: list[EventRowError]


@router.post("", summary="Record customer events in a batch")
def record(batch: EventBatch, services: ServicesDep) -> EventsAccepted:
    """Each event is checked on its own; good events are stored, bad ones reported (an unknown customer is a
    bad event). If every event is bad the answer is 422 with the same errors in ``details``."""
    checked = check_rows(EventIn, batch.events, "customer")
    now = services.clock.now()
    with services.db.engine.begin() as conn:
        known: dict[str, int] = dict(conn.execute(ids_by_external([event.customer for _, event in checked.good])).all())

        def judge(event: EventIn) -> tuple[str, str] | None:
            if event.customer not in known:
                return "customer", f"unknown customer {event.customer!r}; create it with POST /api/v1/customers first"
            if event.occurred_at is not None and event.occurred_at > now + CLOCK_SKEW:
                return "occurred_at", (
                    f"{event.occurred_at.isoformat()} is in the future (the server's time is "
                    f"{now.isoformat()}); leave occurred_at out to mean now"
                )
            return None

        checked.keep_if(judge, lambda event: event.customer)
        checked.refuse_if_nothing_good("event")
        rows = [
            NewEvent(
                customer_id=known[event.customer],
                name=event.name,
                properties=event.properties,
                occurred_at=None if event.occurred_at is None else min(event.occurred_at, now),
            )
            for _, event in checked.good
        ]
        accepted = insert_events(conn, rows, str(uuid.uuid4()), now)
    return EventsAccepted(accepted=accepted, errors=[EventRowError(**e) for e in checked.report()])
