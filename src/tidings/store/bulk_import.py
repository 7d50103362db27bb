"""Bulk customer import from CSV and JSONL, streamed in batches: memory stays flat however long the file.

Formats, chosen by extension:

* ``.csv`` — a header row of ``CustomerIn`` field names; channel consent as ``subscribed_email``,
  ``subscribed_sms``, … (true/false, yes/no, 1/0, Y/N); custom attributes as ``attr.<code>`` (stored as text).
  An empty cell means "not given": the stored value is kept. The ``attr.*`` cells of a row, when any is filled,
  replace the stored attributes as a whole (as ``attributes`` does in an upsert). Separator: comma, or
  semicolon / tab when the header uses those instead (spreadsheet exports). Encoding: UTF-8, with or without a BOM.
* ``.jsonl`` — one JSON object per line, exactly a ``CustomerIn``; ``null`` clears a field.

A bad extension, a missing file or a bad CSV header stops the import before anything is written
(``ImportInvalid``). Every row is then checked with ``CustomerIn``: a bad row is reported with its file line
(the CSV header is line 1) and field, and the good rows are kept. Each batch commits on its own.

Writing: on PostgreSQL each batch is COPYed into a TEMP staging table and merged into ``customers`` and
``channel_subscriptions`` with ``INSERT … SELECT … ON CONFLICT (external_id) DO UPDATE``; on SQLite each batch
goes through ``upsert_customers`` (``executemany``). Both give the same result, including "a field left out
keeps its stored value": rows are written in groups that give the same fields, as ``upsert_customers`` does.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import ValidationError
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Insert,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    cast,
    func,
    literal,
    select,
    union_all,
)

from tidings.errors import ImportInvalid
from tidings.model.customers import CHANNELS, CustomerIn
from tidings.store.customers import PROFILE_FIELDS, upsert_customers
from tidings.store.database import Database
from tidings.store.dialects import Dialect
from tidings.store.tables import channel_subscriptions, customers
from tidings.store.types import Timestamp, to_micros

FORMATS = (".csv", ".jsonl")
SUBSCRIPTION_PREFIX = "subscribed_"
ATTRIBUTE_PREFIX = "attr."
#: Plain CSV columns: every ``CustomerIn`` field but the two nested ones, which have their own column families.
CSV_FIELDS = tuple(name for name in CustomerIn.model_fields if name not in ("attributes", "subscriptions"))

#: ``progress(rows_done, bytes_done)``; the bar's total is the file size, ``path.stat().st_size``.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line of the file where the row starts; the CSV header is line 1
    external_id: str | None
    field: str | None  # the column (CSV) or key path (JSONL); None when the row as a whole is unreadable
    message: str


@dataclass
class ImportReport:
    imported: int = 0  # good rows written
    total_rows: int = 0  # data rows read (blank lines are not rows)
    failed: int = 0  # rows refused; imported + failed == total_rows
    errors: list[RowError] = field(default_factory=list)  # the first ``max_errors`` problems
    errors_omitted: int = 0  # problems beyond ``max_errors``, counted but not listed


def import_customers(
    db: Database,
    path: Path,
    *,
    now: datetime,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    max_errors: int = 1_000,
) -> ImportReport:
    """Import the customers in ``path`` (``.csv`` or ``.jsonl``), upserting by ``external_id``.

    Raises ``ImportInvalid`` before writing anything when the file cannot be imported at all (missing, unknown
    extension, empty or bad CSV header). Bad rows never raise: they are listed in the report.
    ``progress(rows_done, bytes_done)`` is called after every committed batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    kind = path.suffix.lower()
    if kind not in FORMATS:
        raise ImportInvalid(
            f"cannot import {path.name!r}: unknown file type {path.suffix or '(none)'!r}; "
            f"use one of: {', '.join(FORMATS)}",
            details={"path": str(path), "allowed": list(FORMATS)},
        )
    if not path.is_file():
        raise ImportInvalid(f"cannot import {str(path)!r}: no such file", details={"path": str(path)})
    writer = _StagedWriter(db) if db.dialect.stages_bulk_writes else _UpsertWriter(db)
    report = ImportReport()
    with path.open("rb") as handle:
        lines = _Lines(handle)
        rows = _csv_rows(lines) if kind == ".csv" else _jsonl_rows(lines)  # a CSV header is checked here
        batch: list[CustomerIn] = []
        read = 0
        reported = (-1, -1)
        for row in rows:
            report.total_rows += 1
            read += 1
            if isinstance(row, CustomerIn):
                batch.append(row)
            else:
                report.failed += 1
                room = max(0, max_errors - len(report.errors))
                report.errors.extend(row[:room])
                report.errors_omitted += len(row) - min(room, len(row))
            if read >= batch_size:
                report.imported += writer.write(batch, now)
                batch, read = [], 0
                if progress is not None:
                    reported = (report.total_rows, lines.bytes)
                    progress(*reported)
        if read:
            report.imported += writer.write(batch, now)
        if progress is not None and reported != (report.total_rows, lines.bytes):
            progress(report.total_rows, lines.bytes)
    return report


def count_customers(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(count_all()).scalar_one())


def count_all() -> Select[Any]:
    return select(func.count()).select_from(customers)


# -- reading -----------------------------------------------------------------------------------------------
class _Lines:
    """The file's lines as text, counting lines and bytes consumed; bad UTF-8 is remembered by line number."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.number = 0
        self.bytes = 0
        self.undecodable: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.number += 1
            self.bytes += len(raw)
            if self.number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.undecodable.add(self.number)
                yield raw.decode("utf-8", "replace")

    def bad_between(self, first: int, last: int) -> bool:
        """Whether lines ``first..last`` held bad UTF-8 (and forget about them: each row asks once)."""
        if not self.undecodable:
            return False
        hit = [number for number in self.undecodable if number <= last]
        self.undecodable.difference_update(hit)
        return any(number >= first for number in hit)


_Row = CustomerIn | list[RowError]
_Column = tuple[Literal["field", "subscription", "attribute"], str]


def _csv_rows(lines: _Lines) -> Iterator[_Row]:
    text = iter(lines)
    first = next(text, None)
    if first is None or not first.strip():
        raise ImportInvalid(
            "the CSV file has no header row; the first line must name the columns, e.g. external_id,email,first_name"
        )
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(_chain(first, text), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise ImportInvalid(f"the CSV header cannot be read: {error}") from None
    columns = _columns(header)
    end = lines.number
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            end = lines.number
            yield [RowError(start, None, None, f"unreadable CSV row: {error}")]
            continue
        end = lines.number
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # a blank line is not a row
        yield _csv_row(columns, cells, start, lines.bad_between(start, end))


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _columns(header: Sequence[str]) -> list[_Column]:
    allowed = [*CSV_FIELDS, *(SUBSCRIPTION_PREFIX + channel for channel in CHANNELS), ATTRIBUTE_PREFIX + "<code>"]
    columns: list[_Column] = []
    seen: set[str] = set()
    for position, raw in enumerate(header, start=1):
        name = raw.strip()
        lowered = name.lower()
        column: _Column | None = None
        if lowered in CSV_FIELDS:
            column = ("field", lowered)
        elif lowered.startswith(SUBSCRIPTION_PREFIX) and lowered.removeprefix(SUBSCRIPTION_PREFIX) in CHANNELS:
            column = ("subscription", lowered.removeprefix(SUBSCRIPTION_PREFIX))
        elif lowered.startswith(ATTRIBUTE_PREFIX) and name[len(ATTRIBUTE_PREFIX) :].strip():
            column = ("attribute", name[len(ATTRIBUTE_PREFIX) :].strip())
        if column is None:
            raise ImportInvalid(
                f"unknown column {name!r} (column {position} of the CSV header); allowed columns: {', '.join(allowed)}",
                details={"column": name, "position": position, "allowed": allowed},
            )
        key = f"{column[0]}:{column[1]}"
        if key in seen:
            raise ImportInvalid(
                f"column {name!r} appears twice in the CSV header (column {position})",
                details={"column": name, "position": position},
            )
        seen.add(key)
        columns.append(column)
    if ("field", "external_id") not in columns:
        raise ImportInvalid(
            "the CSV header has no external_id column; every row needs the customer's external id",
            details={"column": "external_id", "allowed": allowed},
        )
    return columns


def _csv_row(columns: list[_Column], cells: list[str], line: int, undecodable: bool) -> _Row:
    data: dict[str, Any] = {}
    for (kind, key), raw in zip(columns, cells, strict=False):
        cell = raw.strip()
        if not cell:
            continue  # empty cell: not given
        if kind == "field":
            data[key] = cell
        elif kind == "subscription":
            data.setdefault("subscriptions", {})[key] = cell
        else:
            data.setdefault("attributes", {})[key] = cell
    external_id = data.get("external_id")
    if len(cells) != len(columns):
        return [
            RowError(
                line, external_id, None, f"the row has {len(cells)} cells but the header has {len(columns)} columns"
            )
        ]
    if undecodable:
        return [RowError(line, external_id, None, "the row is not valid UTF-8; save the file as UTF-8")]
    try:
        customer = CustomerIn.model_validate(data)
    except ValidationError as error:
        return _row_errors(error, line, external_id, _csv_field)
    if any("\x00" in cell for cell in cells):
        return _refuse_nul(customer, line, _csv_field)
    return customer


def _csv_field(loc: tuple[int | str, ...]) -> str | None:
    if not loc:
        return None
    if loc[0] == "subscriptions" and len(loc) > 1:
        return f"{SUBSCRIPTION_PREFIX}{loc[1]}"
    if loc[0] == "attributes" and len(loc) > 1:
        return f"{ATTRIBUTE_PREFIX}{loc[1]}"
    return str(loc[0])


def _jsonl_rows(lines: _Lines) -> Iterator[_Row]:
    for text in lines:
        if not text.strip():
            continue
        line = lines.number
        if lines.bad_between(line, line):
            yield [RowError(line, None, None, "the line is not valid UTF-8; save the file as UTF-8")]
            continue
        try:
            customer = CustomerIn.model_validate_json(text)
        except ValidationError as error:
            yield _row_errors(error, line, _external_id_of(text), _json_field)
            continue
        yield _refuse_nul(customer, line, _json_field) if "\\u0000" in text or "\x00" in text else customer


def _external_id_of(text: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    external_id = value.get("external_id") if isinstance(value, dict) else None
    return external_id if isinstance(external_id, str) else None


def _json_field(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(part) for part in loc) or None


def _row_errors(
    error: ValidationError, line: int, external_id: Any, field_of: Callable[[tuple[int | str, ...]], str | None]
) -> list[RowError]:
    known = external_id if isinstance(external_id, str) and external_id else None
    return [
        RowError(line, known, field_of(tuple(item["loc"])), _message(item)) for item in error.errors(include_url=False)
    ]


def _message(item: Any) -> str:
    kind, text = item["type"], str(item["msg"])
    if kind == "json_invalid":
        return f"not valid JSON: {item.get('ctx', {}).get('error', text)}"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required, but not given"
    if kind == "value_error":
        return text.removeprefix("Value error, ")  # our validators already name the value
    value = item.get("input")
    if isinstance(value, str):
        shown = repr(value) if len(value) <= 40 else f"{value[:40]!r}… ({len(value)} characters)"
        return f"{text}, got {shown}"
    if value is None or isinstance(value, (bool, int, float)):
        return f"{text}, got {json.dumps(value)}"
    return text


def _refuse_nul(customer: CustomerIn, line: int, field_of: Callable[[tuple[int | str, ...]], str | None]) -> _Row:
    """PostgreSQL text cannot hold NUL; refuse the row on both databases alike, instead of failing its batch."""
    found = _nul_path(customer.model_dump(exclude_unset=True), ())
    if found is None:
        return customer
    return [RowError(line, customer.external_id, field_of(found), "contains a NUL character (\\u0000)")]


def _nul_path(value: Any, path: tuple[int | str, ...]) -> tuple[int | str, ...] | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        if isinstance(key, str) and "\x00" in key:
            return (*path, key)
        found = _nul_path(child, (*path, key))
        if found is not None:
            return found
    return None


# -- writing -----------------------------------------------------------------------------------------------
def _merge_duplicates(rows: list[CustomerIn]) -> list[CustomerIn]:
    """One row per external id, as if the rows were applied in file order (PostgreSQL's ON CONFLICT cannot
    touch a row twice in one statement; ``upsert_customers`` groups rows and would lose their order)."""
    if len({row.external_id for row in rows}) == len(rows):
        return rows
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        given = {name: getattr(row, name) for name in row.model_fields_set}
        previous = merged.setdefault(row.external_id, {})
        if previous.get("subscriptions"):  # consents add up; an empty or null consent map changes nothing
            given["subscriptions"] = {**previous["subscriptions"], **(given.get("subscriptions") or {})}
        previous.update(given)
    return [CustomerIn.model_construct(set(values), **values) for values in merged.values()]


class _UpsertWriter:
    """SQLite: ``executemany`` of the customer upsert is already the fast path."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, rows: list[CustomerIn], now: datetime) -> int:
        if rows:
            with self.db.engine.begin() as conn:
                upsert_customers(conn, self.db.dialect, _merge_duplicates(rows), now)
        return len(rows)


_staging_metadata = MetaData()

_STAGED_TYPES: dict[str, Any] = {
    "birthday": Date,
    "registered_at": BigInteger,  # microseconds since the epoch, as ``Timestamp`` stores it
    "attributes": Text,  # JSON text, cast to JSONB on the way in
}
#: The TEMP table one batch is COPYed into; it is dropped when the batch commits (or rolls back).
staging = Table(
    "tidings_customer_import",
    _staging_metadata,
    Column("external_id", Text, nullable=False),
    Column("given", Integer, nullable=False),  # bit i set: PROFILE_FIELDS[i] was given
    *(Column(name, _STAGED_TYPES.get(name, Text)) for name in PROFILE_FIELDS),
    *(Column(f"sub_{channel}", String(1)) for channel in CHANNELS),  # Y | N | NULL (not given)
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
#: Built only when a batch mixes several sets of given fields, so each merge reads just its own rows.
STAGING_INDEX = f"CREATE INDEX ON {staging.name} (given)"
_STAGING_COLUMNS = [column.name for column in staging.columns]


def upsert_staged(dialect: Dialect, given: Sequence[str], mask: int, channels: Sequence[str], now: datetime) -> Insert:
    """Merge the staged rows that set exactly the fields ``given`` into ``customers`` and, in the same
    statement, their consents on ``channels`` into ``channel_subscriptions``: the customer upsert returns the ids
    it touched, so the consents never have to look customers up again."""
    values = [
        cast(staging.c.attributes, customers.c.attributes.type) if name == "attributes" else staging.c[name]
        for name in given
    ]
    source = select(staging.c.external_id, *values, literal(now, Timestamp()), literal(now, Timestamp())).where(
        staging.c.given == mask
    )
    upsert = dialect.upsert(customers, ["external_id"], [*given, "updated_at"]).from_select(
        ["external_id", *given, "created_at", "updated_at"], source
    )
    if not channels:
        return upsert
    upserted = upsert.returning(customers.c.id, customers.c.external_id).cte("upserted")
    consents = [
        select(upserted.c.id, literal(channel), staging.c[f"sub_{channel}"], literal(now, Timestamp()))
        .join_from(upserted, staging, staging.c.external_id == upserted.c.external_id)
        .where(staging.c[f"sub_{channel}"].is_not(None))
        for channel in channels
    ]
    statement = dialect.upsert(channel_subscriptions, ["customer_id", "channel"], ["status", "updated_at"])
    return statement.from_select(["customer_id", "channel", "status", "updated_at"], union_all(*consents)).add_cte(
        upserted
    )


class _StagedWriter:
    """PostgreSQL: COPY the batch into a TEMP table, then merge it with ``INSERT … SELECT … ON CONFLICT``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, rows: list[CustomerIn], now: datetime) -> int:
        if not rows:
            return 0
        channels_by_mask: dict[int, set[str]] = {}
        records = []
        for row in _merge_duplicates(rows):
            record, mask = _staged_record(row)
            channels_by_mask.setdefault(mask, set()).update(row.subscriptions or ())
            records.append(record)
        with self.db.engine.begin() as conn:
            staging.create(conn)
            self.db.dialect.bulk_load(conn, staging, _STAGING_COLUMNS, records)
            if len(channels_by_mask) > 1:
                conn.exec_driver_sql(STAGING_INDEX)
            for mask, channels in sorted(channels_by_mask.items()):
                given = [name for bit, name in enumerate(PROFILE_FIELDS) if mask & (1 << bit)]
                ordered = [channel for channel in CHANNELS if channel in channels]
                conn.execute(upsert_staged(self.db.dialect, given, mask, ordered, now))
        return len(rows)


def _staged_record(row: CustomerIn) -> tuple[tuple[Any, ...], int]:
    given = row.model_fields_set  # a property: read it once, not per field
    data = row.__dict__
    mask = 0
    values: list[Any] = []
    for bit, name in enumerate(PROFILE_FIELDS):
        value = None
        if name in given:
            mask |= 1 << bit
            value = data[name]
            if name == "attributes":
                value = _json(value or {})
            elif name == "registered_at" and value is not None:
                value = to_micros(value)
        values.append(value)
    subscriptions = data["subscriptions"] or {}
    consents = [
        None if channel not in subscriptions else "Y" if subscriptions[channel] else "N" for channel in CHANNELS
    ]
    return (row.external_id, mask, *values, *consents), mask


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
