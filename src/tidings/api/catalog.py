"""The catalogue: stores, product categories and products, upserted in batches with per-row errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from tidings.api.deps import PageDep, ServicesDep
from tidings.api.errors import field_path
from tidings.api.routing import StrictJsonRoute
from tidings.api.rows import Checked, check_rows
from tidings.model.catalog_data import CategoryIn, ProductIn, StoreIn
from tidings.services import Services
from tidings.store.catalog_data import CATEGORIES, PRODUCTS, STORES, Entity, Verdict

router = APIRouter(tags=["catalogue"], route_class=StrictJsonRoute)

M = TypeVar("M", bound=BaseModel)

MAX_BATCH = 10_000
_UPSERT_NOTE = (
    "Fields left out keep their stored value; null clears an optional field. Rows naming the same code apply in "
    "order: later fields win."
)


class StoreBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Rows are validated one by one in the route (bad rows are reported, good ones kept).
    stores: list[SkipValidation[StoreIn]] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"Upserted by code. {_UPSERT_NOTE}"
    )


class CategoryBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    categories: list[SkipValidation[CategoryIn]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Upserted by code; a parent may come in the same batch. {_UPSERT_NOTE}",
    )


class ProductBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    products: list[SkipValidation[ProductIn]] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"Upserted by sku. {_UPSERT_NOTE}"
    )


class CodeRowError(BaseModel):
    index: int = Field(description="Position of the row in the batch, from 0.")
    code: str | None
    field: str | None = Field(description="The offending field, e.g. `parent` or `timezone`.")
    message: str


class SkuRowError(BaseModel):
    index: int = Field(description="Position of the row in the batch, from 0.")
    sku: str | None
    field: str | None = Field(description="The offending field, e.g. `category` or `price`.")
    message: str


class CodeUpsertResult(BaseModel):
    upserted: int = Field(description="Rows applied (a code named twice counts twice).")
    errors: list[CodeRowError]


class SkuUpsertResult(BaseModel):
    upserted: int = Field(description="Rows applied (a sku named twice counts twice).")
    errors: list[SkuRowError]


class StoreOut(BaseModel):
    code: str
    name: str
    city: str | None
    timezone: str | None


class CategoryOut(BaseModel):
    code: str
    name: str
    parent: str | None


class ProductOut(BaseModel):
    sku: str
    name: str
    category: str | None
    price: float | None


class StorePage(BaseModel):
    items: list[StoreOut]
    total: int
    limit: int
    offset: int


class CategoryPage(BaseModel):
    items: list[CategoryOut]
    total: int
    limit: int
    offset: int


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


def apply_verdicts(checked: Checked[M], verdicts: Sequence[Verdict], identity: Callable[[M], str]) -> None:
    """Move the good rows that ``verdicts`` (one per good row, in order) refuse to the problems."""
    by_row = {
        id(row): None if verdict is None else (field_path(verdict[0]), verdict[1])
        for (_, row), verdict in zip(checked.good, verdicts, strict=True)
    }
    checked.keep_if(lambda row: by_row[id(row)], identity)


def _upsert(entity: Entity[M], rows: Sequence[Any], services: Services) -> tuple[int, list[dict[str, Any]]]:
    checked = check_rows(entity.model, rows, entity.key)
    with services.db.engine.begin() as conn:
        good = [row for _, row in checked.good]
        apply_verdicts(checked, entity.judge(conn, good), lambda row: str(getattr(row, entity.key)))
        checked.refuse_if_nothing_good(entity.noun)
        entity.upsert(conn, services.db.dialect, [row for _, row in checked.good])
    return len(checked.good), checked.report()


def _page(entity: Entity[Any], services: Services, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    with services.db.engine.connect() as conn:
        rows = conn.execute(entity.page(limit=limit, offset=offset)).mappings().all()
        total = conn.execute(entity.count()).scalar_one()
    fields = {column: name for name, column in entity.columns.items()}
    return [{fields[column]: row[column] for column in fields} for row in rows], total


@router.post("/stores", summary="Upsert stores in a batch")
def upsert_stores(batch: StoreBatch, services: ServicesDep) -> CodeUpsertResult:
    """Each row is checked on its own; good rows are stored, bad ones reported. All bad: 422 with the errors."""
    upserted, errors = _upsert(STORES, batch.stores, services)
    return CodeUpsertResult(upserted=upserted, errors=[CodeRowError(**error) for error in errors])


@router.get("/stores", summary="Stores, by code")
def list_stores(services: ServicesDep, page: PageDep) -> StorePage:
    items, total = _page(STORES, services, page.limit, page.offset)
    return StorePage(items=[StoreOut(**item) for item in items], total=total, limit=page.limit, offset=page.offset)


@router.post("/product-categories", summary="Upsert product categories in a batch")
def upsert_categories(batch: CategoryBatch, services: ServicesDep) -> CodeUpsertResult:
    """A parent must exist or come in the same batch, and no category may become its own ancestor; a row that
    breaks either is reported (and so is a row whose parent was refused). All bad: 422 with the errors."""
    upserted, errors = _upsert(CATEGORIES, batch.categories, services)
    return CodeUpsertResult(upserted=upserted, errors=[CodeRowError(**error) for error in errors])


@router.get("/product-categories", summary="Product categories, by code")
def list_categories(services: ServicesDep, page: PageDep) -> CategoryPage:
    items, total = _page(CATEGORIES, services, page.limit, page.offset)
    return CategoryPage(
        items=[CategoryOut(**item) for item in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post("/products", summary="Upsert products in a batch")
def upsert_products(batch: ProductBatch, services: ServicesDep) -> SkuUpsertResult:
    """A product's category must exist. Each row is checked on its own; all bad: 422 with the errors."""
    upserted, errors = _upsert(PRODUCTS, batch.products, services)
    return SkuUpsertResult(upserted=upserted, errors=[SkuRowError(**error) for error in errors])


@router.get("/products", summary="Products, by sku")
def list_products(services: ServicesDep, page: PageDep) -> ProductPage:
    items, total = _page(PRODUCTS, services, page.limit, page.offset)
    return ProductPage(items=[ProductOut(**item) for item in items], total=total, limit=page.limit, offset=page.offset)
