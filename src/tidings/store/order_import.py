"""Bulk import of orders and receipts from CSV and JSONL, streamed in batches (see ``file_import``).

* ``.jsonl`` — one ``OrderIn`` object per line, lines included.
* ``.csv`` — one row per order line, the order's columns repeated on each:
  ``external_id,kind,customer,status,store,placed_at,paid_at,cancelled_at,total`` for the order and
  ``sku,quantity,price,category`` for the line. Consecutive rows with the same ``external_id`` (and kind) form
  one order. In the rows after the first, an order cell may be left empty; a filled one must repeat the first
  row's value. An empty cell means "not given".

An order is the unit: a bad line refuses its whole order (never a partial order), reported at the file line of
the offending line item. Refused orders are listed with their line and field (the CSV column, or the JSON path
such as ``lines[1].price``); good orders are kept. Each batch of orders is checked against the database and
stored in one transaction by ``tidings.store.orders`` — on PostgreSQL through COPY into TEMP tables. Re-importing
an order replaces it, lines included. ``ImportReport`` counts orders, not CSV rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tidings.model.orders import OrderIn, OrderLineIn
from tidings.store.attribution import attribute_stored
from tidings.store.catalog_data import Loc
from tidings.store.database import Database
from tidings.store.file_import import (
    CsvRecord,
    ImportReport,
    Item,
    Lines,
    Parsed,
    Progress,
    RowError,
    cell_count_error,
    csv_columns,
    json_field,
    jsonl_records,
    key_of,
    message,
    nul_error,
    read_csv,
    run_import,
)
from tidings.store.orders import Resolved, resolve_orders, store_orders

FORMATS = (".csv", ".jsonl")
ORDER_CSV_COLUMNS = tuple(
    name for name in OrderIn.model_fields if name not in ("lines", "attributes")
)  # attributes: JSONL
LINE_CSV_COLUMNS = tuple(OrderLineIn.model_fields)
CSV_COLUMNS = (*ORDER_CSV_COLUMNS, *LINE_CSV_COLUMNS)
#: Columns the header must have: the required fields of an order and of its line.
_REQUIRED = {
    name: (name, f"every row needs its {'order' if name in ORDER_CSV_COLUMNS else 'line'}'s {name}")
    for name in CSV_COLUMNS
    if (OrderIn.model_fields.get(name) or OrderLineIn.model_fields[name]).is_required()
}


@dataclass(frozen=True)
class SourcedOrder:
    """An order with where it came from, so that a refusal can name the file line of the offending item."""

    order: OrderIn
    line_numbers: tuple[int, ...] | None  # CSV: the file line of each order line; JSONL: None (one line)


def import_orders(
    db: Database,
    path: Path,
    *,
    now: datetime,
    record_events: bool = True,
    batch_size: int = 5_000,
    progress: Progress | None = None,
    max_errors: int = 1_000,
) -> ImportReport:
    """Import the orders and receipts in ``path`` (``.csv`` or ``.jsonl``), upserting by (kind, external_id).

    Raises ``ImportInvalid`` before writing anything when the file cannot be imported at all; bad orders never
    raise: they are listed in the report. ``progress(orders_done, bytes_done)`` follows every committed batch.
    The domain events of the orders (created, paid, …) are recorded at ``now``, unless ``record_events`` is False
    (a historic backfill, which must not fire campaigns)."""

    def parse(lines: Lines, suffix: str) -> Iterator[Item[SourcedOrder]]:
        return _csv_orders(lines) if suffix == ".csv" else _jsonl_orders(lines)

    def write(batch: list[Parsed[SourcedOrder]]) -> list[list[RowError]]:
        with db.engine.begin() as conn:
            outcomes = resolve_orders(conn, [item.row.order for item in batch])
            good = [outcome for outcome in outcomes if isinstance(outcome, Resolved)]
            store_orders(
                conn, db.dialect, good, now=now, record_events=record_events, staged=db.dialect.stages_bulk_writes
            )
            attribute_stored(conn, good)
        rejected = []
        for item, outcome in zip(batch, outcomes, strict=True):
            if outcome is not None and not isinstance(outcome, Resolved):
                loc, text = outcome
                line, field = _locate(item.line, item.row.line_numbers, loc)
                rejected.append([RowError(line, item.row.order.external_id, field, text)])
        return rejected

    return run_import(path, FORMATS, parse, write, batch_size=batch_size, progress=progress, max_errors=max_errors)


def _locate(start: int, line_numbers: tuple[int, ...] | None, loc: Loc) -> tuple[int, str | None]:
    """The file line and the field (CSV column or JSON path) of a problem at ``loc`` in an order."""
    if line_numbers is None:
        return start, json_field(loc)
    if len(loc) >= 2 and loc[0] == "lines" and isinstance(loc[1], int) and loc[1] < len(line_numbers):
        return line_numbers[loc[1]], str(loc[2]) if len(loc) > 2 else None
    return start, str(loc[0]) if loc and loc[0] != "lines" else None


# -- JSONL -------------------------------------------------------------------------------------------------
def _jsonl_orders(lines: Lines) -> Iterator[Item[SourcedOrder]]:
    for record in jsonl_records(lines):
        if isinstance(record, RowError):
            yield [record]
            continue
        line, text = record
        external_id = key_of(text, "external_id")
        try:
            order = OrderIn.model_validate_json(text)
        except ValidationError as error:
            yield _errors(error, line, None, external_id)
            continue
        refused = nul_error(order, line, order.external_id, json_field) if "\\u0000" in text or "\x00" in text else None
        yield refused if refused is not None else Parsed(line, SourcedOrder(order, None))


# -- CSV ---------------------------------------------------------------------------------------------------
@dataclass
class _Group:
    """Consecutive CSV rows of one order."""

    start: int
    key: tuple[str, str]  # (external_id, kind) cells of the first row
    order: dict[str, str]  # order cells of the first row (filled ones)
    lines: list[dict[str, str]]
    line_numbers: list[int]
    errors: list[RowError]


def _csv_orders(lines: Lines) -> Iterator[Item[SourcedOrder]]:
    header, records = read_csv(lines, "external_id,kind,customer,placed_at,sku,quantity,price")
    columns = csv_columns(
        header, lambda name: name.lower() if name.lower() in CSV_COLUMNS else None, CSV_COLUMNS, _REQUIRED
    )
    external_index, kind_index = columns.index("external_id"), columns.index("kind")
    group: _Group | None = None
    for record in records:
        cells = record.cells if isinstance(record, CsvRecord) else []
        external_id = cells[external_index].strip() if external_index < len(cells) else ""
        kind = cells[kind_index].strip() if kind_index < len(cells) else ""
        same_order = (
            group is not None
            and bool(external_id)
            and external_id == group.key[0]
            and (not kind or kind == group.key[1])
        )
        if group is not None and not same_order:
            yield _order_of(group)
            group = None
        if isinstance(record, RowError):
            yield [record]
            continue
        refused = cell_count_error(record, len(columns), external_id or None)
        if refused is not None:
            if group is not None:  # a broken row inside an order: the order is refused, never stored in part
                group.errors.extend(refused)
            else:
                yield refused
            continue
        filled = {column: cell.strip() for column, cell in zip(columns, record.cells, strict=True) if cell.strip()}
        order_cells = {column: value for column, value in filled.items() if column in ORDER_CSV_COLUMNS}
        if group is None:
            group = _Group(record.line, (external_id, kind), order_cells, [], [], [])
        else:
            group.errors.extend(_repeated_cells_differ(group, order_cells, record.line))
        group.lines.append({column: value for column, value in filled.items() if column in LINE_CSV_COLUMNS})
        group.line_numbers.append(record.line)
        group.errors.extend(
            RowError(record.line, external_id or None, column, "contains a NUL character (\\u0000)")
            for column, value in filled.items()
            if "\x00" in value
        )
    if group is not None:
        yield _order_of(group)


def _repeated_cells_differ(group: _Group, cells: dict[str, str], line: int) -> list[RowError]:
    return [
        RowError(
            line,
            group.key[0],
            column,
            f"{column} {value!r} differs from {group.order.get(column, '')!r} on line {group.start}, where this "
            "order starts; leave the cell empty or repeat the value",
        )
        for column, value in cells.items()
        if group.order.get(column) != value
    ]


def _order_of(group: _Group) -> Item[SourcedOrder]:
    external_id = group.key[0] or None
    if group.errors:
        return group.errors
    try:
        order = OrderIn.model_validate({**group.order, "lines": group.lines})
    except ValidationError as error:
        return _errors(error, group.start, tuple(group.line_numbers), external_id)
    return Parsed(group.start, SourcedOrder(order, tuple(group.line_numbers)))


def _errors(error: ValidationError, start: int, line_numbers: tuple[int, ...] | None, key: Any) -> list[RowError]:
    found = []
    for item in error.errors(include_url=False):
        line, field = _locate(start, line_numbers, tuple(item["loc"]))
        found.append(RowError(line, key if isinstance(key, str) and key else None, field, message(item)))
    return found
