"""Bulk import of stores, product categories and products from CSV and JSONL (see ``file_import``).

* ``.csv`` — a header of the model's field names: ``code,name,city,timezone`` (stores), ``code,name,parent``
  (categories), ``sku,name,category,price`` (products). An empty cell means "not given": the stored value is kept.
* ``.jsonl`` — one ``StoreIn`` / ``CategoryIn`` / ``ProductIn`` object per line; ``null`` clears a field.

Each batch is judged and upserted in one transaction, as by the API: a product's category must exist, a
category's parent must exist or come in the same batch (put parents before their children), and no category may
become its own ancestor. Refused rows are reported with their line and field; the good rows are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tidings.store.catalog_data import Entity
from tidings.store.database import Database
from tidings.store.file_import import (
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
    nul_error,
    read_csv,
    row_errors,
    run_import,
)

FORMATS = (".csv", ".jsonl")


def import_catalog(
    db: Database,
    entity: Entity[Any],
    path: Path,
    *,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    max_errors: int = 1_000,
) -> ImportReport:
    """Upsert the rows of ``path`` into ``entity`` (``STORES``, ``CATEGORIES`` or ``PRODUCTS``) by its key."""

    def parse(lines: Lines, suffix: str) -> Iterator[Item[Any]]:
        return _csv_rows(entity, lines) if suffix == ".csv" else _jsonl_rows(entity, lines)

    def write(batch: list[Parsed[Any]]) -> list[list[RowError]]:
        rows = [item.row for item in batch]
        with db.engine.begin() as conn:
            verdicts = entity.judge(conn, rows)
            good = [row for row, verdict in zip(rows, verdicts, strict=True) if verdict is None]
            entity.upsert(conn, db.dialect, good)
        return [
            [RowError(item.line, str(getattr(item.row, entity.key)), json_field(verdict[0]), verdict[1])]
            for item, verdict in zip(batch, verdicts, strict=True)
            if verdict is not None
        ]

    return run_import(path, FORMATS, parse, write, batch_size=batch_size, progress=progress, max_errors=max_errors)


def _csv_rows(entity: Entity[Any], lines: Lines) -> Iterator[Item[Any]]:
    fields = list(entity.model.model_fields)
    required = {
        name: (name, f"every {entity.noun} needs one")
        for name, info in entity.model.model_fields.items()
        if info.is_required()
    }
    header, records = read_csv(lines, ",".join(fields))
    columns = csv_columns(header, lambda name: name.lower() if name.lower() in fields else None, fields, required)
    key = columns.index(entity.key)
    for record in records:
        if isinstance(record, RowError):
            yield [record]
            continue
        identity = (record.cells[key].strip() or None) if key < len(record.cells) else None
        refused = cell_count_error(record, len(columns), identity)
        if refused is not None:
            yield refused
            continue
        data = {column: cell.strip() for column, cell in zip(columns, record.cells, strict=True) if cell.strip()}
        yield _checked(entity, data, record.line, identity, any("\x00" in cell for cell in record.cells), None)


def _jsonl_rows(entity: Entity[Any], lines: Lines) -> Iterator[Item[Any]]:
    for record in jsonl_records(lines):
        if isinstance(record, RowError):
            yield [record]
            continue
        line, text = record
        yield _checked(entity, None, line, key_of(text, entity.key), "\\u0000" in text or "\x00" in text, text)


def _checked(
    entity: Entity[Any], data: dict[str, Any] | None, line: int, identity: str | None, maybe_nul: bool, text: str | None
) -> Item[Any]:
    try:
        row: BaseModel = (
            entity.model.model_validate_json(text) if text is not None else entity.model.model_validate(data)
        )
    except ValidationError as error:
        return row_errors(error, line, identity, json_field)
    refused = nul_error(row, line, identity, json_field) if maybe_nul else None
    return refused if refused is not None else Parsed(line, row)
