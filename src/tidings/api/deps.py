"""Dependencies as ``Annotated`` aliases: routes ask for what they need, built once in ``create_app``."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Path, Query, Request

from tidings.services import Services

MAX_ID = 2**63 - 1  # ids are 64-bit; larger numbers could never match and SQLite cannot even bind them


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


def get_clock_lock(request: Request) -> threading.Lock:
    """Serialises manual-clock advances: two overlapping advances would interleave their steps."""
    return cast(threading.Lock, request.app.state.clock_lock)


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def get_page(
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many items.")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Skip this many items first.")] = 0,
) -> Page:
    return Page(limit, offset)


ServicesDep = Annotated[Services, Depends(get_services)]
ClockLockDep = Annotated[threading.Lock, Depends(get_clock_lock)]
PageDep = Annotated[Page, Depends(get_page)]
CampaignIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="Campaign id.")]
