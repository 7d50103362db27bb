"""Templates: ``POST /templates/preview`` renders customer-authored Liquid for a chosen customer."""

from __future__ import annotations

from fastapi import APIRouter

from tidings.api.routing import StrictJsonRoute

router = APIRouter(tags=["templates"], route_class=StrictJsonRoute)
