"""Batch endpoints validate every row on its own: good rows are kept, bad rows are reported by index."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tidings.api.errors import describe_errors, field_path
from tidings.core.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

NO_NUL = r"text must not contain NUL characters (\u0000)"


@dataclass(frozen=True)
class RowProblem:
    index: int
    key: str | None  # the row's identity (external id, customer), when it has one
    field: str | None
    message: str


@dataclass
class Checked(Generic[M]):
    key: str
    good: list[tuple[int, M]]
    problems: list[RowProblem]

    def keep_if(self, check: Callable[[M], tuple[str, str] | None], identity: Callable[[M], str]) -> None:
        """Apply a further check to the good rows; a row that fails moves to the problems."""
        kept: list[tuple[int, M]] = []
        for index, row in self.good:
            problem = check(row)
            if problem is None:
                kept.append((index, row))
            else:
                self.problems.append(RowProblem(index, identity(row), *problem))
        self.good = kept

    def report(self) -> list[dict[str, Any]]:
        """``[{index, <key>, field, message}]``: the same list in a 200 answer and in an all-bad 422."""
        return [
            {"index": problem.index, self.key: problem.key, "field": problem.field, "message": problem.message}
            for problem in sorted(self.problems, key=lambda problem: problem.index)
        ]

    def refuse_if_nothing_good(self, noun: str) -> None:
        """All rows bad: answer 422 with the same per-row errors, so a client sees one failure, not a 200."""
        if self.good or not self.problems:
            return
        first = min(self.problems, key=lambda problem: problem.index)
        where = f"row {first.index}" + (f", {first.field}" if first.field else "")
        rows = len({problem.index for problem in self.problems})
        raise InvalidInput(
            f"no {noun} stored: all {rows} rows are invalid; {where}: {first.message}", details=self.report()
        )


def check_rows(model: type[M], rows: Sequence[Any], key: str) -> Checked[M]:
    """Validate each row with ``model``; ``key`` names the field that identifies a row in error reports."""
    checked: Checked[M] = Checked(key, [], [])
    for index, raw in enumerate(rows):
        if not isinstance(raw, dict):
            checked.problems.append(RowProblem(index, None, None, "a row must be a JSON object"))
            continue
        identity = raw.get(key) if isinstance(raw.get(key), str) else None
        nul = nul_path(raw, [])
        if nul is not None:
            checked.problems.append(RowProblem(index, identity, nul, NO_NUL))
            continue
        try:
            checked.good.append((index, model.model_validate(raw)))
        except ValidationError as error:
            for item in describe_errors(error.errors(include_url=False), located=False):
                checked.problems.append(RowProblem(index, identity, item["field"], item["message"]))
    return checked


def nul_path(value: Any, loc: list[Any]) -> str | None:
    """PostgreSQL stores no NUL character in text or JSONB: refuse such a row here, on both databases alike."""
    if isinstance(value, str):
        return (field_path(loc) or "(row)") if "\x00" in value else None
    if isinstance(value, dict):
        for name, item in value.items():
            if "\x00" in name:
                return field_path([*loc, name])
            found = nul_path(item, [*loc, name])
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, [*loc, index])
            if found is not None:
                return found
    return None
