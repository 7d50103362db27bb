"""Custom fields: declared typed attributes of customers (``customers.attributes[code]``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel

from tidings.api.deps import PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import Conflict, NotFound
from tidings.model.conditions import FieldType
from tidings.model.custom_fields import CODE_PATTERN, CustomFieldIn
from tidings.store import custom_fields as field_sql

router = APIRouter(prefix="/custom-fields", tags=["custom fields"], route_class=StrictJsonRoute)

CodePath = Annotated[str, Path(max_length=64, description="The field's code.")]


class CustomFieldOut(BaseModel):
    code: str
    name: str
    type: FieldType
    created_at: datetime


class CustomFieldPage(BaseModel):
    items: list[CustomFieldOut]
    total: int
    limit: int
    offset: int


@router.post(
    "",
    status_code=201,
    summary="Declare a custom field",
    responses={200: {"description": "Already declared with this type; its name is updated."}},
)
def declare(field: CustomFieldIn, services: ServicesDep, response: Response) -> CustomFieldOut:
    """Declare a typed customer attribute. Declaring an existing code again with the same type renames it
    (200); with another type it is refused (409), since stored values and saved conditions rely on the type."""
    with services.db.engine.begin() as conn:
        created = conn.execute(field_sql.insert_field(services.db.dialect, field, services.clock.now())).rowcount
        if not created:
            existing = conn.execute(field_sql.get_field(field.code)).mappings().one()
            if existing["type"] != field.type:
                raise Conflict(
                    f"custom field {field.code!r} is declared as {existing['type']}, not {field.type}; "
                    "a declared type cannot change (stored values and saved conditions rely on it)",
                    details={"code": field.code, "type": existing["type"], "requested_type": field.type},
                )
            conn.execute(field_sql.rename_field(field.code, field.name))
            response.status_code = 200
        row = conn.execute(field_sql.get_field(field.code)).mappings().one()
    return CustomFieldOut(**row)


@router.get("", summary="Declared custom fields, by code")
def list_fields(services: ServicesDep, page: PageDep) -> CustomFieldPage:
    with services.db.engine.connect() as conn:
        rows = conn.execute(field_sql.list_fields(limit=page.limit, offset=page.offset)).mappings().all()
        total = conn.execute(field_sql.count_fields()).scalar_one()
    return CustomFieldPage(
        items=[CustomFieldOut(**row) for row in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{code}", summary="One custom field")
def get_field(code: CodePath, services: ServicesDep) -> CustomFieldOut:
    with services.db.engine.connect() as conn:
        row = conn.execute(field_sql.get_field(code)).mappings().first()
    if row is None:
        raise NotFound(
            f"custom field {code!r} is not declared",
            details={"code": code, "pattern": CODE_PATTERN},
        )
    return CustomFieldOut(**row)
