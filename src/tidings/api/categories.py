"""Mailing categories (spec 5.2): created by hand, none predefined; message nodes and conditions name them by code.

A category may be deleted only while no running (active or paused) campaign uses it — its message nodes would
drop every customer as ``unsubscribed_category`` — and, unless ``force=true``, while no customer belongs to it
(their consent would be lost with it; ``force`` deletes it with their subscriptions).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel
from sqlalchemy import Connection, RowMapping

from tidings.api.deps import PageDep, ServicesDep
from tidings.api.routing import StrictJsonRoute
from tidings.core.errors import Conflict, NotFound
from tidings.model.subscriptions import CATEGORY_CODE, CategoryIn, CategoryPatch, mentions_category
from tidings.store import subscriptions as sub_sql

router = APIRouter(prefix="/categories", tags=["subscriptions"], route_class=StrictJsonRoute)

CodePath = Annotated[str, Path(max_length=64, description="The category's code.")]


class CategoryOut(BaseModel):
    id: int
    code: str
    name: str
    description: str | None


class CategoryPage(BaseModel):
    items: list[CategoryOut]
    total: int
    limit: int
    offset: int


def find_category(conn: Connection, code: str, *, for_update: bool = False) -> RowMapping:
    row = conn.execute(sub_sql.get_category(code, for_update=for_update)).mappings().first()
    if row is None:
        raise NotFound(
            f"mailing category {code!r} does not exist; create it with POST /api/v1/categories",
            details={"code": code, "pattern": CATEGORY_CODE},
        )
    return row


def _out(row: RowMapping) -> CategoryOut:
    return CategoryOut(id=row["id"], code=row["code"], name=row["name"], description=row["description"])


@router.post(
    "",
    status_code=201,
    summary="Create a mailing category",
    responses={200: {"description": "The code exists already; its name and description are replaced."}},
)
def create(category: CategoryIn, services: ServicesDep, response: Response) -> CategoryOut:
    """Creating an existing code again replaces its name and description (200), so a set-up script may run
    twice."""
    with services.db.engine.begin() as conn:
        if not conn.execute(sub_sql.insert_category(services.db.dialect, category)).rowcount:
            values = {"name": category.name, "description": category.description}
            conn.execute(sub_sql.update_category(category.code, values))
            response.status_code = 200
        return _out(find_category(conn, category.code))


@router.get("", summary="Mailing categories, by code")
def list_categories(services: ServicesDep, page: PageDep) -> CategoryPage:
    with services.db.engine.connect() as conn:
        rows = conn.execute(sub_sql.list_categories(limit=page.limit, offset=page.offset)).mappings().all()
        total = conn.execute(sub_sql.count_categories()).scalar_one()
    return CategoryPage(items=[_out(row) for row in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/{code}", summary="One mailing category")
def get_category(code: CodePath, services: ServicesDep) -> CategoryOut:
    with services.db.engine.connect() as conn:
        return _out(find_category(conn, code))


@router.patch("/{code}", summary="Rename a mailing category or change its description")
def patch_category(code: CodePath, change: CategoryPatch, services: ServicesDep) -> CategoryOut:
    """The code never changes: campaign documents and conditions refer to it."""
    with services.db.engine.begin() as conn:
        find_category(conn, code, for_update=True)
        conn.execute(sub_sql.update_category(code, change.model_dump(include=change.model_fields_set)))
        return _out(find_category(conn, code))


@router.delete("/{code}", status_code=204, summary="Delete a mailing category")
def delete_category(
    code: CodePath,
    services: ServicesDep,
    force: Annotated[
        bool, Query(description="Delete it even though customers belong to it; their subscriptions go with it.")
    ] = False,
) -> Response:
    """Refused (409) while a running campaign uses the category, and — unless ``force`` — while customers
    belong to it."""
    with services.db.engine.begin() as conn:
        category = find_category(conn, code, for_update=True)
        using = [
            {"id": campaign_id, "name": name}
            for campaign_id, name, document in conn.execute(sub_sql.running_campaign_documents())
            if mentions_category(document, code)
        ]
        if using:
            names = ", ".join(f"{item['id']} ({item['name']!r})" for item in using)
            raise Conflict(
                f"mailing category {code!r} is used by running campaigns: {names}; stop them or change their "
                "message nodes and conditions first",
                details={"code": code, "campaigns": using},
            )
        members, subscribed = conn.execute(sub_sql.category_members(category["id"])).one()
        if members and not force:
            raise Conflict(
                f"{members} customers belong to mailing category {code!r} ({subscribed} subscribed); remove them "
                "with ND first, or delete it with their subscriptions: DELETE …?force=true",
                details={"code": code, "members": members, "subscribed": subscribed},
            )
        conn.execute(sub_sql.delete_category(category["id"]))
    return Response(status_code=204)
