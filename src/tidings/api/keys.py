"""API keys for integrations: created and revoked by admins, shown once, stored hashed, sent as
``Authorization: Bearer <key>``. A revoked key stops working with the next request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import RowMapping

from tidings.api.access import PrincipalDep
from tidings.api.deps import MAX_ID, PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import NotFound
from tidings.model.users import ApiKeyIn
from tidings.store import access as access_sql

router = APIRouter(prefix="/keys", tags=["keys"], route_class=StrictJsonRoute)

KeyIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="API key id.")]


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it by.")
    scopes: list[str]
    created_by: int | None = Field(description="The admin who created it (null once that user is gone).")
    created_at: datetime
    revoked_at: datetime | None


class NewApiKey(ApiKeyOut):
    key: str = Field(description="The key itself: shown this once, never again (only its hash is kept).")


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]
    total: int
    limit: int
    offset: int


def _key(services: ServicesDep, key_id: int) -> RowMapping:
    with services.db.engine.connect() as conn:
        row = conn.execute(access_sql.get_key(key_id)).mappings().first()
    if row is None:
        raise NotFound(f"API key {key_id} does not exist", details={"id": key_id})
    return row


@router.post("", status_code=201, summary="Create an API key (shown once)")
def create_key(body: ApiKeyIn, services: ServicesDep, principal: PrincipalDep) -> NewApiKey:
    with services.db.engine.begin() as conn:
        key_id, token = services.accounts.create_key(conn, body.name, list(body.scopes), principal.id)
    return NewApiKey(**_key(services, key_id), key=token)


@router.get("", summary="API keys, oldest first (never the keys themselves)")
def list_keys(services: ServicesDep, page: PageDep) -> ApiKeyPage:
    with services.db.engine.connect() as conn:
        rows = conn.execute(access_sql.list_keys(limit=page.limit, offset=page.offset)).mappings().all()
        total = conn.execute(access_sql.count_keys()).scalar_one()
    return ApiKeyPage(items=[ApiKeyOut(**row) for row in rows], total=total, limit=page.limit, offset=page.offset)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: KeyIdPath, services: ServicesDep) -> Response:
    _key(services, key_id)
    with services.db.engine.begin() as conn:
        services.accounts.revoke_key(conn, key_id)
    return Response(status_code=204)
