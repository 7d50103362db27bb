"""The machinery every bulk import shares: reading CSV and JSONL files as a stream of rows with their line
numbers, per-row errors, and the batch loop with its progress callback. Memory stays flat however long the file.

An importer supplies two things: ``parse(lines, suffix)``, which turns the file's lines into rows (each a model
with the line it starts on, or the errors that refused it), and ``write(batch)``, which stores one batch in one
transaction and returns the errors of the rows it refused (e.g. a reference to something unknown).

* CSV: UTF-8 with or without a BOM; comma, or semicolon / tab when the header uses those instead (spreadsheet
  exports); quoted cells may span lines; a blank line is not a row; the header is line 1.
* JSONL: one JSON object per line; blank lines are skipped.

A bad extension, a missing file or a bad CSV header stops the import before anything is written
(``ImportInvalid``). Bad rows never raise: they are listed in the report with their line, the good rows are kept.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tidings.core.errors import ImportInvalid

M = TypeVar("M")
K = TypeVar("K", bound=Hashable)

#: ``progress(rows_done, bytes_done)``; the bar's total is the file size, ``path.stat().st_size``.
Progress = Callable[[int, int], None]
#: Maps a pydantic error location to the name the user knows: a CSV column, a JSON key path.
FieldOf = Callable[[tuple[int | str, ...]], str | None]


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line of the file where the problem is; the CSV header is line 1
    external_id: str | None  # the row's identity: external id, or code / sku for catalogue rows
    field: str | None  # the column (CSV) or key path (JSONL); None when the row as a whole is unreadable
    message: str


@dataclass
class ImportReport:
    imported: int = 0  # good rows written
    total_rows: int = 0  # data rows read (blank lines are not rows)
    failed: int = 0  # rows refused; imported + failed == total_rows
    errors: list[RowError] = field(default_factory=list)  # the first ``max_errors`` problems
    errors_omitted: int = 0  # problems beyond ``max_errors``, counted but not listed
    notes: list[RowError] = field(default_factory=list)  # rows written with a change left out, and why


@dataclass(frozen=True)
class Parsed(Generic[M]):
    """A row that passed the checks the file alone allows; ``write`` may still refuse it."""

    line: int
    row: M


#: What ``parse`` yields per row: the row, or the errors that refused it.
Item = Parsed[M] | list[RowError]


def run_import(
    path: Path,
    formats: Sequence[str],
    parse: Callable[[Lines, str], Iterator[Item[M]]],
    write: Callable[[list[Parsed[M]]], list[list[RowError]]],
    *,
    batch_size: int,
    progress: Progress | None,
    max_errors: int,
) -> ImportReport:
    """Stream ``path`` through ``parse`` and ``write`` in batches of ``batch_size`` rows (good or bad);
    ``progress(rows_done, bytes_done)`` is called after every committed batch."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    suffix = path.suffix.lower()
    if suffix not in formats:
        raise ImportInvalid(
            f"cannot import {path.name!r}: unknown file type {path.suffix or '(none)'!r}; "
            f"use one of: {', '.join(formats)}",
            details={"path": str(path), "allowed": list(formats)},
        )
    if not path.is_file():
        raise ImportInvalid(f"cannot import {str(path)!r}: no such file", details={"path": str(path)})
    report = ImportReport()
    with path.open("rb") as handle:
        lines = Lines(handle)
        batch: list[Parsed[M]] = []
        refused: list[list[RowError]] = []
        reported = (-1, -1)

        def flush() -> None:
            rejected = write(batch) if batch else []
            report.imported += len(batch) - len(rejected)
            for errors in sorted([*refused, *rejected], key=lambda errors: errors[0].line if errors else 0):
                report.failed += 1
                room = max(0, max_errors - len(report.errors))
                report.errors.extend(errors[:room])
                report.errors_omitted += len(errors) - min(room, len(errors))
            batch.clear()
            refused.clear()

        for item in parse(lines, suffix):  # a CSV header is checked on the first step, before any write
            report.total_rows += 1
            if isinstance(item, Parsed):
                batch.append(item)
            else:
                refused.append(item)
            if len(batch) + len(refused) >= batch_size:
                flush()
                if progress is not None:
                    reported = (report.total_rows, lines.bytes)
                    progress(*reported)
        flush()
        if progress is not None and reported != (report.total_rows, lines.bytes):
            progress(report.total_rows, lines.bytes)
    return report


# -- lines -------------------------------------------------------------------------------------------------
class Lines:
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


# -- CSV ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CsvRecord:
    line: int  # where the record starts (a quoted cell may span lines)
    cells: list[str]
    undecodable: bool  # some of its lines were not UTF-8


def read_csv(lines: Lines, example: str) -> tuple[list[str], Iterator[CsvRecord | RowError]]:
    """The header (read now, so a bad one stops the import before anything is written) and the records after
    it; an unreadable record is a ``RowError``. ``example`` shows a good header in the error for a missing one."""
    text = numbered(lines)
    first = next(text, None)
    if first is None or not first[1].strip():
        raise ImportInvalid(f"the CSV file has no header row; the first line must name the columns, e.g. {example}")
    delimiter = max((",", ";", "\t"), key=first[1].count)
    records = CsvRecords(_chain(first, text), delimiter)
    header = next(records, None)
    if not isinstance(header, tuple):
        problem = header.message if header is not None else "it is empty"
        raise ImportInvalid(f"the CSV header cannot be read: {problem}")
    records.columns = len(header[2])
    return header[2], _records(records, lines)


def _records(records: Iterator[tuple[int, int, list[str]] | RowError], lines: Lines) -> Iterator[CsvRecord | RowError]:
    for record in records:
        if isinstance(record, RowError):
            yield record
            continue
        start, end, cells = record
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # a blank line is not a row
        yield CsvRecord(start, cells, lines.bad_between(start, end))


def numbered(lines: Lines) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line."""
    for text in lines:
        yield lines.number, text


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest


class _Feed:
    """The csv reader's input: numbered lines, those to read again first; remembers the lines it handed out."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self.source = lines
        self.again: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = self.again.popleft() if self.again else next(self.source)  # StopIteration ends the input (for now)
        self.taken.append(line)
        return line[1]


class CsvRecords:
    """The records of CSV text given as numbered lines: ``(first line, last line, cells)``, or a ``RowError`` for
    a record that cannot be read. A quoted cell may span lines, so one stray quote could swallow every line
    after it (up to the csv module's field limit): when a record that spans lines cannot be read, or has not
    ``columns`` cells (once known), only its first line is refused and the lines after it are read again as
    records of their own. A malformed row costs that row alone."""

    def __init__(self, lines: Iterator[tuple[int, str]], delimiter: str, columns: int | None = None) -> None:
        self.columns = columns
        self._feed = _Feed(lines)
        self._reader = csv.reader(self._feed, delimiter=delimiter, strict=True)
        self._records = self._read()

    def __iter__(self) -> CsvRecords:
        return self

    def __next__(self) -> tuple[int, int, list[str]] | RowError:
        return next(self._records)

    def _read(self) -> Iterator[tuple[int, int, list[str]] | RowError]:
        taken = self._feed.taken
        while True:
            taken.clear()
            problem: str | None = None
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as error:
                problem, cells = str(error), []
            if not taken:
                return
            first, last = taken[0][0], taken[-1][0]
            if len(taken) > 1 and (problem is not None or (self.columns and len(cells) != self.columns)):
                self._feed.again.extendleft(reversed(taken[1:]))
                why = problem or f"the row would have {len(cells)} cells, not {self.columns}"
                yield RowError(
                    first,
                    None,
                    None,
                    f"unreadable CSV row: a quoted cell opened on this line runs on to line {last} ({why}); a stray "
                    "quote? This line is skipped and the lines after it are read as rows of their own",
                )
            elif problem is not None:
                yield RowError(first, None, None, f"unreadable CSV row: {problem}")
            else:
                yield first, last, cells


def csv_columns(
    header: Sequence[str],
    resolve: Callable[[str], K | None],
    allowed: Sequence[str],
    required: Mapping[K, tuple[str, str]],
) -> list[K]:
    """Map each header cell to a column with ``resolve`` (given the stripped name; None: unknown column).
    An unknown or repeated column, or a missing ``required`` one (key → (column name, why)), is refused."""
    columns: list[K] = []
    for position, raw in enumerate(header, start=1):
        name = raw.strip()
        column = resolve(name)
        if column is None:
            raise ImportInvalid(
                f"unknown column {name!r} (column {position} of the CSV header); allowed columns: {', '.join(allowed)}",
                details={"column": name, "position": position, "allowed": list(allowed)},
            )
        if column in columns:
            raise ImportInvalid(
                f"column {name!r} appears twice in the CSV header (column {position})",
                details={"column": name, "position": position},
            )
        columns.append(column)
    for column, (name, why) in required.items():
        if column not in columns:
            raise ImportInvalid(
                f"the CSV header has no {name} column; {why}", details={"column": name, "allowed": list(allowed)}
            )
    return columns


def cell_count_error(record: CsvRecord, columns: int, key: str | None) -> list[RowError] | None:
    """A record whose cells do not line up with the header, or that was not UTF-8, is refused as a whole."""
    if len(record.cells) != columns:
        message = f"the row has {len(record.cells)} cells but the header has {columns} columns"
        return [RowError(record.line, key, None, message)]
    if record.undecodable:
        return [RowError(record.line, key, None, "the row is not valid UTF-8; save the file as UTF-8")]
    return None


# -- JSONL -------------------------------------------------------------------------------------------------
def jsonl_records(lines: Lines) -> Iterator[tuple[int, str] | RowError]:
    """``(line, text)`` of every non-blank line; a line that is not UTF-8 is a ``RowError``."""
    for text in lines:
        if not text.strip():
            continue
        line = lines.number
        if lines.bad_between(line, line):
            yield RowError(line, None, None, "the line is not valid UTF-8; save the file as UTF-8")
            continue
        yield line, text


def key_of(text: str, key: str) -> str | None:
    """The string ``key`` of a JSON object text, if it is one (for naming a row that failed validation)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def json_field(loc: tuple[int | str, ...]) -> str | None:
    """``("lines", 2, "price")`` → ``lines[2].price``, as the API names fields."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path or None


# -- errors ------------------------------------------------------------------------------------------------
def row_errors(error: ValidationError, line: int, key: Any, field_of: FieldOf) -> list[RowError]:
    known = key if isinstance(key, str) and key else None
    return [
        RowError(line, known, field_of(tuple(item["loc"])), message(item)) for item in error.errors(include_url=False)
    ]


def message(item: Any) -> str:
    """A pydantic error item as a sentence that names the value but never echoes a long one back."""
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


def nul_error(row: BaseModel, line: int, key: str | None, field_of: FieldOf) -> list[RowError] | None:
    """PostgreSQL text cannot hold NUL; refuse such a row on both databases alike, instead of failing its batch."""
    found = _nul_path(row.model_dump(exclude_unset=True), ())
    if found is None:
        return None
    return [RowError(line, key, field_of(found), "contains a NUL character (\\u0000)")]


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
