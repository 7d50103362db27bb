"""The clock: read it always; move it (and run everything that became due) with TIDINGS_CLOCK=manual."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tidings.api.deps import ClockLockDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.clock import ManualClock
from tidings.core.errors import Conflict, InvalidInput

router = APIRouter(prefix="/clock", tags=["clock"], route_class=StrictJsonRoute)

#: One advance simulates at most this much time: enough for any campaign, and a typo cannot hang the server.
MAX_ADVANCE = timedelta(days=3660)


class ClockOut(BaseModel):
    clock: str = Field(description="system | manual")
    now: datetime


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: AwareDatetime | None = Field(default=None, description="Move to this moment (ISO-8601 with offset).")
    by: timedelta | None = Field(default=None, description="Move by this ISO-8601 duration, e.g. P3D or PT2H.")

    @model_validator(mode="after")
    def _exactly_one(self) -> AdvanceIn:
        if (self.to is None) == (self.by is None):
            raise ValueError('give exactly one of "to" (a date-time) or "by" (a duration such as PT2H)')
        return self


class Advanced(BaseModel):
    now: datetime
    entered: int = Field(description="Customers who entered campaigns.")
    chunks: int = Field(description="Chunks of customers advanced through nodes.")
    delivered: int = Field(description="Messages handed to providers.")


@router.get("", summary="The current time")
def read_clock(services: ServicesDep) -> ClockOut:
    return ClockOut(clock=services.settings.clock, now=services.clock.now())


@router.post("/advance", summary="Move the manual clock forward and run everything that becomes due")
def advance(body: AdvanceIn, services: ServicesDep, lock: ClockLockDep) -> Advanced:
    if services.settings.clock != "manual" or not isinstance(services.clock, ManualClock):
        raise Conflict(
            "the clock is the system clock and cannot be moved; start the server with TIDINGS_CLOCK=manual "
            "to simulate time"
        )
    with lock:
        now = services.clock.now()
        step = body.by if body.by is not None else body.to - now if body.to is not None else timedelta()
        if step < timedelta():
            raise InvalidInput(
                f"the clock cannot go back: it is {now.isoformat()}, asked for "
                f"{body.to.isoformat() if body.to else '-' + str(-step)}",
                details=[{"field": "to" if body.to else "by", "in": "body", "message": "in the past"}],
            )
        if step > MAX_ADVANCE:
            raise InvalidInput(
                f"one advance moves the clock by at most {MAX_ADVANCE.days} days; split it",
                details=[{"field": "to" if body.to else "by", "in": "body", "message": "too far"}],
            )
        report = services.advancer.advance_to(now + step)
        return Advanced(
            now=services.clock.now(),
            entered=report["entered"],
            chunks=report["chunks"],
            delivered=report["delivered"],
        )
