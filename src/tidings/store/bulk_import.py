"""Bulk customer import from CSV and JSONL, streamed in batches: memory stays flat however long the file.

Formats, chosen by extension:

* ``.csv`` — a header row of ``CustomerIn`` field names; channel consent as ``subscribed_email``,
  ``subscribed_sms``, … (true/false, yes/no, 1/0, Y/N); custom attributes as ``attr.<code>``, converted to the
  declared type of the custom field ``<code>`` (see ``tidings.model.custom_fields``). An empty cell means "not
  given": the stored value is kept. The ``attr.*`` cells of a row, when any is filled, replace the stored
  attributes as a whole (as ``attributes`` does in an upsert).
* ``.jsonl`` — one JSON object per line, exactly a ``CustomerIn``; ``null`` clears a field.

Reading (encodings, separators, line numbers, batches, progress) is ``tidings.store.file_import``. Every row is
checked with ``CustomerIn`` and its attributes against the declared custom fields (an undeclared code or a value
of the wrong type refuses the row, naming ``attr.<code>`` in a CSV file and ``attributes.<code>`` in JSONL); a
bad row is reported with its file line and field, and the good rows are kept. Each batch commits on its own.

Writing: on PostgreSQL each batch is COPYed into a TEMP staging table and merged into ``customers`` and
``channel_subscriptions`` with ``INSERT … SELECT … ON CONFLICT (external_id) DO UPDATE``; on SQLite each batch
goes through ``upsert_customers`` (``executemany``). Both give the same result, including "a field left out
keeps its stored value" (rows are written in groups that give the same fields, as ``upsert_customers`` does) and
the loyalty sync request of every consent that turns a channel off or on again (E22).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Insert,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    Update,
    and_,
    cast,
    func,
    literal,
    select,
    union_all,
    update,
)

from tidings.core.dialect import Dialect
from tidings.model.conditions import FieldType
from tidings.model.custom_fields import type_attributes
from tidings.model.customers import CHANNELS, CustomerIn, merge_duplicates
from tidings.store.custom_fields import declared_types
from tidings.store.customers import PROFILE_FIELDS, upsert_customers
from tidings.store.database import Database
from tidings.store.domain_events import registered_events
from tidings.store.domain_events import route as route_events
from tidings.store.file_import import (
    CsvRecord,
    FieldOf,
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
from tidings.store.subscriptions import (
    DEFAULT_CHANNEL_STATUS,
    NO_CAMPAIGN,
    SYNC_KIND,
    SYNC_TYPE,
    withheld_message,
    withhold_suppressed,
)
from tidings.store.tables import channel_subscriptions, customers, loyalty_requests
from tidings.store.types import Timestamp, to_micros

__all__ = ["ImportReport", "RowError", "count_customers", "import_customers"]

FORMATS = (".csv", ".jsonl")
SUBSCRIPTION_PREFIX = "subscribed_"
ATTRIBUTE_PREFIX = "attr."
#: Plain CSV columns: every ``CustomerIn`` field but the two nested ones, which have their own column families.
CSV_FIELDS = tuple(name for name in CustomerIn.model_fields if name not in ("attributes", "subscriptions"))


def import_customers(
    db: Database,
    path: Path,
    *,
    now: datetime,
    record_events: bool = True,
    batch_size: int = 10_000,
    progress: Progress | None = None,
    max_errors: int = 1_000,
) -> ImportReport:
    """Import the customers in ``path`` (``.csv`` or ``.jsonl``), upserting by ``external_id``.

    Each customer the file creates gets a ``customer_registered`` event, set-at-a-time in each batch's
    transaction, unless ``record_events`` is False (a historic backfill, which must not fire campaigns).

    Raises ``ImportInvalid`` before writing anything when the file cannot be imported at all (missing, unknown
    extension, empty or bad CSV header). Bad rows never raise: they are listed in the report.
    ``progress(rows_done, bytes_done)`` is called after every committed batch.
    """
    with db.engine.connect() as conn:
        declared = declared_types(conn)
    writer = (_StagedWriter if db.dialect.stages_bulk_writes else _UpsertWriter)(db, now, record_events)

    def parse(lines: Lines, suffix: str) -> Iterator[Item[CustomerIn]]:
        return _csv_rows(lines, declared) if suffix == ".csv" else _jsonl_rows(lines, declared)

    report = run_import(
        path, FORMATS, parse, writer.write, batch_size=batch_size, progress=progress, max_errors=max_errors
    )
    report.notes = writer.notes
    return report


def count_customers(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(count_all()).scalar_one())


def count_all() -> Select[Any]:
    return select(func.count()).select_from(customers)


# -- reading -----------------------------------------------------------------------------------------------
_Column = tuple[Literal["field", "subscription", "attribute"], str]


def _csv_rows(lines: Lines, declared: Mapping[str, FieldType]) -> Iterator[Item[CustomerIn]]:
    header, records = read_csv(lines, "external_id,email,first_name")
    allowed = [*CSV_FIELDS, *(SUBSCRIPTION_PREFIX + channel for channel in CHANNELS), ATTRIBUTE_PREFIX + "<code>"]
    required: dict[_Column, tuple[str, str]] = {
        ("field", "external_id"): ("external_id", "every row needs the customer's external id")
    }
    columns = csv_columns(header, _column, allowed, required)
    for record in records:
        if isinstance(record, RowError):
            yield [record]
            continue
        yield _csv_row(columns, record, declared)


def _column(name: str) -> _Column | None:
    lowered = name.lower()
    if lowered in CSV_FIELDS:
        return ("field", lowered)
    if lowered.startswith(SUBSCRIPTION_PREFIX) and lowered.removeprefix(SUBSCRIPTION_PREFIX) in CHANNELS:
        return ("subscription", lowered.removeprefix(SUBSCRIPTION_PREFIX))
    if lowered.startswith(ATTRIBUTE_PREFIX) and name[len(ATTRIBUTE_PREFIX) :].strip():
        return ("attribute", name[len(ATTRIBUTE_PREFIX) :].strip())
    return None


def _csv_row(columns: list[_Column], record: CsvRecord, declared: Mapping[str, FieldType]) -> Item[CustomerIn]:
    data: dict[str, Any] = {}
    line = record.line
    for (kind, key), raw in zip(columns, record.cells, strict=False):
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
    refused = cell_count_error(record, len(columns), external_id)
    if refused is not None:
        return refused
    try:
        customer = CustomerIn.model_validate(data)
    except ValidationError as error:
        return row_errors(error, line, external_id, _csv_field)
    return _checked(customer, line, declared, _csv_field, any("\x00" in cell for cell in record.cells))


def _csv_field(loc: tuple[int | str, ...]) -> str | None:
    if not loc:
        return None
    if loc[0] == "subscriptions" and len(loc) > 1:
        return f"{SUBSCRIPTION_PREFIX}{loc[1]}"
    if loc[0] == "attributes" and len(loc) > 1:
        return f"{ATTRIBUTE_PREFIX}{loc[1]}"
    return str(loc[0])


def _jsonl_rows(lines: Lines, declared: Mapping[str, FieldType]) -> Iterator[Item[CustomerIn]]:
    for record in jsonl_records(lines):
        if isinstance(record, RowError):
            yield [record]
            continue
        line, text = record
        try:
            customer = CustomerIn.model_validate_json(text)
        except ValidationError as error:
            yield row_errors(error, line, key_of(text, "external_id"), json_field)
            continue
        yield _checked(customer, line, declared, json_field, "\\u0000" in text or "\x00" in text)


def _checked(
    customer: CustomerIn, line: int, declared: Mapping[str, FieldType], field_of: FieldOf, maybe_nul: bool
) -> Item[CustomerIn]:
    """The checks beyond ``CustomerIn``: attributes of declared fields and types, no NUL characters."""
    problem = type_attributes(customer, declared)
    if problem is not None:
        path, message = problem
        return [RowError(line, customer.external_id, field_of(tuple(path.split(".", 1))), message)]
    refused = nul_error(customer, line, customer.external_id, field_of) if maybe_nul else None
    return refused if refused is not None else Parsed(line, customer)


# -- writing -----------------------------------------------------------------------------------------------
class _UpsertWriter:
    """SQLite: ``executemany`` of the customer upsert is already the fast path."""

    def __init__(self, db: Database, now: datetime, record_events: bool) -> None:
        self.db = db
        self.now = now
        self.notes: list[RowError] = []
        self.record_events = record_events

    def write(self, batch: list[Parsed[CustomerIn]]) -> list[list[RowError]]:
        with self.db.engine.begin() as conn:
            rows = _withhold_suppressed(conn, batch, self.notes)
            upsert_customers(conn, self.db.dialect, rows, self.now, record_events=self.record_events)
        return []


def _withhold_suppressed(conn: Connection, batch: list[Parsed[CustomerIn]], notes: list[RowError]) -> list[CustomerIn]:
    """The batch's rows, merged by external id, without the consents the suppression list withholds; each
    withheld consent is noted at the last line that named the customer."""
    rows, withheld = withhold_suppressed(conn, merge_duplicates([item.row for item in batch]))
    lines = {item.row.external_id: item.line for item in batch}
    notes += [
        RowError(lines[item.external_id], item.external_id, f"subscriptions.{item.channel}", withheld_message(item))
        for item in withheld
    ]
    return rows


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
    Column("customer_id", BigInteger),  # the existing customer, found before the merge (not COPYed)
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
#: Built only when a batch mixes several sets of given fields, so each merge reads just its own rows.
STAGING_INDEX = f"CREATE INDEX ON {staging.name} (given)"
_STAGING_COLUMNS = [column.name for column in staging.columns if column.name != "customer_id"]


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


def find_staged_customers() -> Update:
    """Before the merge: each staged row's existing customer (null for a customer the batch creates)."""
    return update(staging).values(customer_id=customers.c.id).where(customers.c.external_id == staging.c.external_id)


def created_by_staging() -> Select[Any]:
    """After the merge: the ids of the customers the staged batch created (found by ``find_staged_customers``
    before it as having none)."""
    return (
        select(customers.c.id)
        .join_from(staging, customers, customers.c.external_id == staging.c.external_id)
        .where(staging.c.customer_id.is_(None))
    )


def lock_staged_customers() -> Select[Any]:
    """The existing customers of the batch, locked in id order, so that their consents are judged against the
    status the merge replaces (as ``subscriptions.lock_customers`` does for the API)."""
    existing = select(staging.c.customer_id).where(staging.c.customer_id.is_not(None))
    return select(customers.c.id).where(customers.c.id.in_(existing)).order_by(customers.c.id).with_for_update()


def staged_consent_syncs(channels: Sequence[str], now: datetime, *, existing: bool) -> Insert:
    """The loyalty sync requests (spec 5.2, E22) of the staged consents that change a channel's effective status,
    as ``subscriptions.set_channels`` records them for the API: for existing customers, judged before the merge
    against the stored status (``Y`` where none is stored); for the customers the batch creates, after the merge,
    each ``N`` (a new customer's channels start as ``Y``)."""
    changes = []
    for channel in channels:
        given = staging.c[f"sub_{channel}"]
        if existing:
            stored = and_(
                channel_subscriptions.c.customer_id == staging.c.customer_id, channel_subscriptions.c.channel == channel
            )
            change = (
                select(
                    staging.c.customer_id.label("customer_id"), literal(channel).label("channel"), given.label("status")
                )
                .select_from(staging.outerjoin(channel_subscriptions, stored))
                .where(
                    staging.c.customer_id.is_not(None),
                    given.is_not(None),
                    func.coalesce(channel_subscriptions.c.status, DEFAULT_CHANNEL_STATUS) != given,
                )
            )
        else:
            change = (
                select(customers.c.id.label("customer_id"), literal(channel).label("channel"), given.label("status"))
                .join_from(staging, customers, customers.c.external_id == staging.c.external_id)
                .where(staging.c.customer_id.is_(None), given != DEFAULT_CHANNEL_STATUS)
            )
        changes.append(change)
    changed = union_all(*changes).subquery("changed")
    payload = func.jsonb_build_object(
        literal("type"),
        literal(SYNC_TYPE),
        literal("channel"),
        changed.c.channel,
        literal("active"),
        changed.c.status == "Y",
    )
    rows = select(
        literal(SYNC_KIND),
        literal(NO_CAMPAIGN),
        changed.c.customer_id,
        payload,
        literal("pending"),
        literal(now, Timestamp()),
    )
    columns = ["kind", "campaign_id", "customer_id", "payload", "status", "created_at"]
    return loyalty_requests.insert().from_select(columns, rows)


class _StagedWriter:
    """PostgreSQL: COPY the batch into a TEMP table, then merge it with ``INSERT … SELECT … ON CONFLICT``."""

    def __init__(self, db: Database, now: datetime, record_events: bool) -> None:
        self.db = db
        self.now = now
        self.notes: list[RowError] = []
        self.record_events = record_events

    def write(self, batch: list[Parsed[CustomerIn]]) -> list[list[RowError]]:
        with self.db.engine.begin() as conn:
            channels_by_mask: dict[int, set[str]] = {}
            records = []
            for row in _withhold_suppressed(conn, batch, self.notes):
                record, mask = _staged_record(row)
                channels_by_mask.setdefault(mask, set()).update(row.subscriptions or ())
                records.append(record)
            consented = [
                channel for channel in CHANNELS if any(channel in given for given in channels_by_mask.values())
            ]
            staging.create(conn)
            self.db.dialect.bulk_load(conn, staging, _STAGING_COLUMNS, records)
            if len(channels_by_mask) > 1:
                conn.exec_driver_sql(STAGING_INDEX)
            if consented or self.record_events:
                conn.execute(find_staged_customers())
            if consented:
                conn.execute(lock_staged_customers()).all()
                conn.execute(staged_consent_syncs(consented, self.now, existing=True))
            for mask, channels in sorted(channels_by_mask.items()):
                given = [name for bit, name in enumerate(PROFILE_FIELDS) if mask & (1 << bit)]
                ordered = [channel for channel in CHANNELS if channel in channels]
                conn.execute(upsert_staged(self.db.dialect, given, mask, ordered, self.now))
            if consented:
                conn.execute(staged_consent_syncs(consented, self.now, existing=False))
            if self.record_events:
                batch_id = str(uuid.uuid4())
                conn.execute(registered_events(created_by_staging(), ingest_batch=batch_id, now=self.now))
                route_events(conn, batch_id)
        return []


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
