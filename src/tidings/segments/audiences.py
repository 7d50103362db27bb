"""Audiences (target audiences, formerly "tags"): static named lists of customers (spec 6.3).

An audience is filled by the API (add / remove external ids), by the audience action of a campaign, or by a
CSV import. Names are unique (the database's unique index decides; a clash is a 409).

CSV import (UTF-8, with or without a BOM; one row per line, a quoted cell may span lines; blank lines are
skipped):

* **one column** of external ids, imported into one audience chosen by the caller (by id, or by name —
  created if it does not exist yet);
* **pairs** ``external_id;audience``, when no audience is chosen: each row names its audience, and audiences
  are created by name as needed.

The separator is ``;`` (as in the spec), or ``,`` / tab when the first row uses that instead. A first row that
reads ``external_id`` (and ``audience``) is a header and is skipped. Rows are checked one by one: an unknown
customer or a malformed row is reported with its line number and the good rows are kept. The file is streamed
in batches (memory stays flat however long it is); each batch is one transaction with one ``INSERT … SELECT``
per audience it touches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, BinaryIO

from sqlalchemy import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from tidings.core.clock import Clock
from tidings.core.errors import Conflict, InvalidInput, NotFound
from tidings.store import audiences as audience_sql
from tidings.store.database import Database
from tidings.store.file_import import CsvRecords, Lines, RowError, numbered

MAX_NAME = 200
MAX_EXTERNAL_ID = 128
HEADER_IDS = {"external_id", "id", "customer"}
HEADER_AUDIENCES = {"audience", "audience_name", "name"}

#: ``progress(rows_done, bytes_done)``, called after every committed batch.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based line of the file
    external_id: str | None
    audience: str | None
    message: str


@dataclass
class ImportReport:
    rows: int = 0  # data rows read (header and blank lines are not rows)
    added: int = 0  # memberships created
    already_members: int = 0  # good rows whose customer was already in the audience (or repeated in the file)
    failed: int = 0  # rows refused: rows == added + already_members + failed
    audiences_created: list[str] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)  # the first ``max_errors`` problems
    errors_omitted: int = 0


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("name: an audience needs a name", details=[{"field": "name", "message": "empty"}])
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name: at most {MAX_NAME} characters", details=[{"field": "name", "message": "too long"}])
    if "\x00" in name:
        raise InvalidInput("name: must not contain NUL characters", details=[{"field": "name", "message": "NUL"}])
    return name


class AudienceService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- audiences -------------------------------------------------------------------------------------
    def _row(self, conn: Connection, audience_id: int) -> RowMapping:
        row = conn.execute(audience_sql.get_audience(audience_id)).mappings().first()
        if row is None:
            raise NotFound(f"audience {audience_id} does not exist", details={"audience_id": audience_id})
        return row

    def _name_taken(self, error: IntegrityError, name: str) -> Conflict:
        if not self.db.dialect.is_unique_violation(error):
            raise error
        with self.db.engine.connect() as conn:
            existing = _ids_by_name(conn, [name]).get(name)
        return Conflict(
            f"an audience named {name!r} already exists (id {existing}); choose another name",
            details={"name": name, "audience_id": existing},
        )

    def create(self, name: str) -> dict[str, Any]:
        name = check_name(name)
        try:
            with self.db.engine.begin() as conn:
                inserted = conn.execute(audience_sql.insert_audience(name=name, now=self.clock.now()))
                assert inserted.inserted_primary_key is not None
                return summary(self._row(conn, int(inserted.inserted_primary_key[0])))
        except IntegrityError as error:
            raise self._name_taken(error, name) from None

    def rename(self, audience_id: int, name: str) -> dict[str, Any]:
        name = check_name(name)
        try:
            with self.db.engine.begin() as conn:
                self._row(conn, audience_id)
                conn.execute(audience_sql.rename_audience(audience_id, name=name, now=self.clock.now()))
                return summary(self._row(conn, audience_id))
        except IntegrityError as error:
            raise self._name_taken(error, name) from None

    def delete(self, audience_id: int) -> None:
        with self.db.engine.begin() as conn:
            self._row(conn, audience_id)
            conn.execute(audience_sql.delete_audience(audience_id))

    def get(self, audience_id: int) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            return summary(self._row(conn, audience_id))

    def list_all(self, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(audience_sql.list_audiences(limit=limit, offset=offset)).mappings().all()
            total = int(conn.execute(audience_sql.count_audiences()).scalar_one())
        return [summary(row) for row in rows], total

    # -- members ---------------------------------------------------------------------------------------
    def change_members(self, audience_id: int, add: list[str], remove: list[str]) -> dict[str, Any]:
        """Add and remove customers by external id. Unknown ids are reported and skipped; if no id is known at
        all the request is refused (422) with the same list."""
        if not add and not remove:
            raise InvalidInput(
                "give external ids to add or remove", details=[{"field": "add", "message": "both lists are empty"}]
            )
        both = sorted(set(add) & set(remove))
        if both:
            raise InvalidInput(
                f"external ids both added and removed: {', '.join(map(repr, both[:10]))}; name each once",
                details=[{"field": "remove", "message": "also in add", "external_ids": both}],
            )
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            self._row(conn, audience_id)
            known = set(conn.execute(audience_sql.known_external_ids([*add, *remove])).scalars())
            unknown = sorted(set(add) - known | set(remove) - known)
            if not known:
                raise InvalidInput(
                    f"no customer is known by these external ids: {', '.join(map(repr, unknown[:10]))}"
                    + (" …" if len(unknown) > 10 else ""),
                    details={"unknown_customers": unknown},
                )
            to_add = set(add) & known
            to_remove = set(remove) & known
            added = (
                conn.execute(audience_sql.add_members(self.db.dialect, audience_id, to_add, now=now)).rowcount
                if to_add
                else 0
            )
            removed = conn.execute(audience_sql.remove_members(audience_id, to_remove)).rowcount if to_remove else 0
            if added or removed:
                conn.execute(audience_sql.touch_audiences([audience_id], now=now))
            size = int(conn.execute(audience_sql.count_members(audience_id)).scalar_one())
        return {
            "audience_id": audience_id,
            "added": added,
            "already_members": len(to_add) - added,
            "removed": removed,
            "not_members": len(to_remove) - removed,
            "unknown_customers": unknown,
            "size": size,
        }

    def members(self, audience_id: int, *, limit: int, offset: int) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            audience = self._row(conn, audience_id)
            rows = conn.execute(audience_sql.members_page(audience_id, limit=limit, offset=offset)).mappings().all()
        return {"audience_id": audience_id, "size": int(audience["size"]), "items": [dict(row) for row in rows]}

    # -- CSV import ------------------------------------------------------------------------------------
    def import_csv(
        self,
        handle: BinaryIO,
        *,
        audience_id: int | None = None,
        audience_name: str | None = None,
        batch_size: int = 10_000,
        progress: Progress | None = None,
        max_errors: int = 1_000,
    ) -> ImportReport:
        """Import memberships from a CSV stream: into one audience (``audience_id``, or ``audience_name``
        created if needed) from a one-column file, or from ``external_id;audience`` pairs when neither is
        given. Bad rows are reported, good rows kept; each batch of ``batch_size`` rows commits on its own."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        report = ImportReport()
        target: int | None = None
        if audience_id is not None:
            with self.db.engine.connect() as conn:
                target = int(self._row(conn, audience_id)["id"])
        elif audience_name is not None:
            target = self._get_or_create(check_name(audience_name), report)
        lines = Lines(handle)
        batch: list[tuple[int, str, str | None]] = []

        def refuse(problem: LineError) -> None:
            report.failed += 1
            if len(report.errors) < max_errors:
                report.errors.append(problem)
            else:
                report.errors_omitted += 1

        for line, cells in _rows(lines, 1 if target is not None else 2):
            report.rows += 1
            parsed = _parse_row(line, cells, single=target is not None)
            if isinstance(parsed, LineError):
                refuse(parsed)
                continue
            batch.append(parsed)
            if len(batch) >= batch_size:
                self._write(batch, target, report, refuse)
                batch = []
                if progress is not None:
                    progress(report.rows, lines.bytes)
        if batch:
            self._write(batch, target, report, refuse)
        if progress is not None:
            progress(report.rows, lines.bytes)
        report.errors.sort(key=lambda error: error.line)  # unknown customers are found a batch later
        return report

    def _get_or_create(self, name: str, report: ImportReport) -> int:
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            created = conn.execute(
                audience_sql.insert_missing_audiences(self.db.dialect),
                {"name": name, "created_at": now, "updated_at": now},
            ).rowcount
            if created:
                report.audiences_created.append(name)
            return _ids_by_name(conn, [name])[name]

    def _write(
        self,
        batch: list[tuple[int, str, str | None]],
        target: int | None,
        report: ImportReport,
        refuse: Callable[[LineError], None],
    ) -> None:
        now = self.clock.now()
        with self.db.engine.begin() as conn:
            known = set(conn.execute(audience_sql.known_external_ids([row[1] for row in batch])).scalars())
            good: list[tuple[int, str, str | None]] = []
            for line, external_id, audience in batch:
                if external_id in known:
                    good.append((line, external_id, audience))
                else:
                    refuse(LineError(line, external_id, audience, f"unknown customer {external_id!r}"))
            if not good:
                return
            ids: dict[str | None, int]
            if target is not None:
                ids = {None: target}
            else:
                names = {audience for _, _, audience in good if audience is not None}
                existing = _ids_by_name(conn, names)
                missing = sorted(names - set(existing))
                if missing:
                    conn.execute(
                        audience_sql.insert_missing_audiences(self.db.dialect),
                        [{"name": name, "created_at": now, "updated_at": now} for name in missing],
                    )
                    existing = _ids_by_name(conn, names)
                    report.audiences_created.extend(missing)
                ids = {name: audience_id for name, audience_id in existing.items()}
            by_audience: dict[int, set[str]] = {}
            for _, external_id, audience in good:
                by_audience.setdefault(ids[audience], set()).add(external_id)
            touched: list[int] = []
            batch_added = 0
            for audience_id, external_ids in by_audience.items():
                added = conn.execute(
                    audience_sql.add_members(self.db.dialect, audience_id, external_ids, now=now)
                ).rowcount
                batch_added += added
                if added:
                    touched.append(audience_id)
            report.added += batch_added
            report.already_members += len(good) - batch_added
            if touched:
                conn.execute(audience_sql.touch_audiences(touched, now=now))


def _ids_by_name(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    return {str(name): int(audience_id) for name, audience_id in conn.execute(audience_sql.ids_by_name(set(names)))}


# -- reading CSV ---------------------------------------------------------------------------------------
_Cells = list[str] | LineError


def _rows(lines: Lines, columns: int) -> Iterator[tuple[int, _Cells]]:
    """(first line, cells) per non-blank row. The separator is the first of ``;``, tab, ``,`` that the first
    line holding any of them uses (lines before it are one cell each); from there on the file is read as CSV,
    where a quoted cell may span lines and a stray quote costs its row alone (``CsvRecords``, expecting
    ``columns`` cells). A header in the first row is skipped."""
    text = numbered(lines)
    first = True

    def cells_of(start: int, end: int, cells: list[str]) -> _Cells | None:
        nonlocal first
        if lines.bad_between(start, end):
            return LineError(start, None, None, "the line is not UTF-8 text")
        cells = [cell.strip() for cell in cells]
        if not cells or cells == [""]:
            return None  # a blank line is not a row
        if first:
            first = False
            if _is_header(cells):
                return None
        return cells

    for number, line in text:
        delimiter = next((candidate for candidate in (";", "\t", ",") if candidate in line), None)
        if delimiter is None:
            found = cells_of(number, number, [line])
            if found is not None:
                yield number, found
            continue
        for record in CsvRecords(chain([(number, line)], text), delimiter, columns):
            if isinstance(record, RowError):
                yield record.line, LineError(record.line, None, None, record.message)
                continue
            found = cells_of(*record)
            if found is not None:
                yield record[0], found
        return


def _is_header(cells: list[str]) -> bool:
    lowered = [cell.lower() for cell in cells]
    if not lowered or lowered[0] not in HEADER_IDS:
        return False
    return len(lowered) == 1 or (len(lowered) == 2 and lowered[1] in HEADER_AUDIENCES)


def _parse_row(line: int, cells: _Cells, *, single: bool) -> tuple[int, str, str | None] | LineError:
    if isinstance(cells, LineError):
        return cells
    while len(cells) > 1 and not cells[-1]:
        cells = cells[:-1]  # a trailing separator
    external_id = cells[0]
    audience = cells[1] if len(cells) > 1 else None
    if not external_id:
        return LineError(line, None, audience, "no external id in the first column")
    if "\x00" in external_id or (audience is not None and "\x00" in audience):
        return LineError(line, None, None, "the row contains a NUL character")
    if single:
        if len(cells) > 1:
            return LineError(line, external_id, None, "one column expected (the audience is chosen for the whole file)")
        return line, external_id, None
    if len(cells) != 2 or not audience:
        return LineError(
            line,
            external_id,
            audience,
            "expected external_id;audience (or import a one-column file into a chosen audience)",
        )
    if len(audience) > MAX_NAME:
        return LineError(line, external_id, audience[:40] + "…", f"audience name longer than {MAX_NAME} characters")
    return line, external_id, audience


def summary(row: RowMapping) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "size": int(row["size"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
