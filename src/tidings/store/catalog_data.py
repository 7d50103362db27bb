"""Statements on stores, product categories and products, and the checks that need the database.

The three share one shape (``Entity``): upsert by a code, fields left out keep their stored value, rows that
name the same code apply in order (later fields win). A row is judged before it is written: a product's
category must exist; a category's parent must exist or come in the same batch, and may not make a cycle.
Writes are set-at-a-time: one ``executemany`` per group of rows that give the same fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Column, Connection, Select, Table, func, select

from tidings.core.dialect import Dialect
from tidings.model.catalog_data import CategoryIn, ProductIn, StoreIn
from tidings.store.tables import product_categories, products, stores

M = TypeVar("M", bound=BaseModel)

#: Where a row is wrong (a path of keys and list positions, e.g. ``("lines", 0, "category")``) and why;
#: None when it is fine.
Loc = tuple[str | int, ...]
Verdict = tuple[Loc, str] | None

#: Values per ``IN (…)`` lookup: well below the bound-parameter limits of SQLite and PostgreSQL.
LOOKUP_CHUNK = 5_000


def chunks(values: Iterable[Any], size: int = LOOKUP_CHUNK) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def existing(conn: Connection, column: Column[Any], values: Iterable[Any]) -> set[Any]:
    """Which of ``values`` are in ``column`` (one query per ``LOOKUP_CHUNK`` values)."""
    found: set[Any] = set()
    for chunk in chunks(set(values)):
        found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found


@dataclass(frozen=True)
class Entity(Generic[M]):
    noun: str  # "store": for messages
    model: type[M]
    table: Table
    key: str  # the model field rows are upserted by
    columns: Mapping[str, str]  # model field → column
    judge: Callable[[Connection, Sequence[M]], list[Verdict]]

    def upsert(self, conn: Connection, dialect: Dialect, rows: Sequence[M]) -> None:
        """Upsert ``rows`` by their key: one statement per set of given fields; a field left out keeps its value."""
        merged: dict[Any, dict[str, Any]] = {}
        for row in rows:
            values = {self.columns[name]: getattr(row, name) for name in row.model_fields_set}
            merged.setdefault(getattr(row, self.key), {}).update(values)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in merged.values():
            groups.setdefault(tuple(sorted(values)), []).append(values)
        key_column = self.columns[self.key]
        for given, batch in groups.items():
            update = [column for column in given if column != key_column]
            conn.execute(dialect.upsert(self.table, [key_column], update), batch)

    def page(self, *, limit: int, offset: int) -> Select[Any]:
        key = self.table.c[self.columns[self.key]]
        return select(self.table).order_by(key).limit(limit).offset(offset)

    def count(self) -> Select[Any]:
        return select(func.count()).select_from(self.table)


def _no_checks(conn: Connection, rows: Sequence[Any]) -> list[Verdict]:
    return [None] * len(rows)


def judge_products(conn: Connection, rows: Sequence[ProductIn]) -> list[Verdict]:
    known = existing(conn, product_categories.c.code, (row.category for row in rows if row.category is not None))
    return [
        None
        if row.category is None or row.category in known
        else (("category",), f"unknown category {row.category!r}; create it with POST /api/v1/product-categories first")
        for row in rows
    ]


def judge_categories(conn: Connection, rows: Sequence[CategoryIn]) -> list[Verdict]:
    """A parent must exist or come in the batch (as a row that is kept), and no category may end up its own
    ancestor. Refusing a row can orphan another, so the checks repeat until nothing changes."""
    stored: dict[str, str | None] = dict(
        conn.execute(select(product_categories.c.code, product_categories.c.parent_code)).all()
    )
    verdicts: list[Verdict] = [None] * len(rows)
    changed = True
    while changed:
        changed = False
        parents = dict(stored)
        for row, verdict in zip(rows, verdicts, strict=True):
            if verdict is None:
                parents[row.code] = row.parent if "parent" in row.model_fields_set else stored.get(row.code)
        for position, row in enumerate(rows):
            if verdicts[position] is not None or row.parent is None:
                continue
            verdict = _parent_verdict(row, parents)
            if verdict is not None:
                verdicts[position] = verdict
                changed = True
    return verdicts


def _parent_verdict(row: CategoryIn, parents: Mapping[str, str | None]) -> Verdict:
    if row.parent == row.code:
        return ("parent",), f"category {row.code!r} cannot be its own parent"
    if row.parent not in parents:
        return ("parent",), f"unknown parent category {row.parent!r}; create it first or put it in the same batch"
    seen: set[str] = set()
    ancestor = row.parent
    while ancestor is not None and ancestor not in seen:  # a loop above that misses this row is not its fault
        if ancestor == row.code:
            return ("parent",), f"parent {row.parent!r} would make a cycle: {row.code!r} would be its own ancestor"
        seen.add(ancestor)
        ancestor = parents.get(ancestor)
    return None


STORES: Entity[StoreIn] = Entity(
    "store",
    StoreIn,
    stores,
    "code",
    {"code": "code", "name": "name", "city": "city", "timezone": "timezone"},
    _no_checks,
)
CATEGORIES: Entity[CategoryIn] = Entity(
    "product category",
    CategoryIn,
    product_categories,
    "code",
    {"code": "code", "name": "name", "parent": "parent_code"},
    judge_categories,
)
PRODUCTS: Entity[ProductIn] = Entity(
    "product",
    ProductIn,
    products,
    "sku",
    {"sku": "sku", "name": "name", "category": "category_code", "price": "price"},
    judge_products,
)


def product_categories_of(conn: Connection, skus: Iterable[str]) -> dict[str, str | None]:
    """The catalogue category of each known SKU among ``skus``."""
    found: dict[str, str | None] = {}
    for chunk in chunks(set(skus)):
        query = select(products.c.sku, products.c.category_code).where(products.c.sku.in_(chunk))
        found.update(conn.execute(query).all())
    return found
