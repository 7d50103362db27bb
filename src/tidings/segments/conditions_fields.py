"""Customer fields (built in and declared custom attributes) and subscriptions, in SQL.

Custom attributes live in ``customers.attributes`` (JSON). A stored value counts only when it has the field's
type, so a bad value never raises (PostgreSQL casts are guarded) and reads the same on both databases:

* text — a JSON string;
* number — a JSON number, or a string written as a decimal number (``"-12.5"``);
* boolean — JSON ``true`` / ``false``;
* date — a string ``YYYY-MM-DD``;
* datetime — a string ``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)``, read as that instant (calendar arithmetic,
  so an impossible day such as 02-30 rolls over into the next month rather than failing).

Any other value, or none, is unknown (NULL): only `empty` (and `not_equals` / `ne` / `is_false`) hold for it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    String,
    case,
    cast,
    exists,
    func,
    not_,
    select,
)
from sqlalchemy import literal as sql_literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tidings.model.conditions import FieldCondition, FieldType, SubscriptionCondition
from tidings.store.tables import category_subscriptions, channel_subscriptions, customers, mailing_categories
from tidings.store.types import Timestamp

if TYPE_CHECKING:
    from tidings.segments.compiler import ConditionCompiler

Col = ColumnElement[Any]


def compile_field(compiler: ConditionCompiler, cond: FieldCondition) -> ColumnElement[bool]:
    kind = cond.kind
    column = attribute_value(cond.attribute, kind) if cond.attribute else customers.c[cond.field]
    if kind == "text":
        if cond.op == "empty":
            return column.is_(None) | (column == "")
        if cond.op == "not_empty":
            return column.is_not(None) & (column != "")
        return TEXT_OPS[cond.op](column, cond.value)
    if kind == "number":
        if cond.op == "empty":
            return column.is_(None)
        if cond.op == "not_empty":
            return column.is_not(None)
        return NUMBER_OPS[cond.op](column, cond.value)
    if kind == "boolean":
        return column.is_(True) if cond.op == "is_true" else compiler.negate(column.is_(True))
    if kind == "datetime":
        return compiler.instant_op(column, cond.op, cond.value)
    bind: Callable[[date], date | str] = (lambda day: day.isoformat()) if cond.attribute else (lambda day: day)
    return compiler.date_op(column, cond.op, cond.value, bind)


def attribute_value(code: str, kind: FieldType, attributes: Any = customers.c.attributes) -> Col:
    """``attributes[code]`` (the customer's, unless another JSON column is given, e.g. an order's) as a value of
    ``kind``, or NULL when it holds anything else."""
    element = attributes[code]
    key = sql_literal(code, String())
    if kind == "number":
        holds = JsonIs(attributes, key, "number") | (
            JsonIs(attributes, key, "string") & Matches(element.as_string(), "decimal")
        )
        return case((holds, element.as_float()))
    if kind == "boolean":
        return case(
            (JsonIs(attributes, key, "true"), True),
            (JsonIs(attributes, key, "false"), False),
            else_=None,
        ).cast(Boolean)
    text = case((JsonIs(attributes, key, "string"), element.as_string()))
    if kind == "date":
        return case((Matches(text, "date"), text))
    if kind == "datetime":
        return case((Matches(text, "datetime"), _iso_micros(text))).cast(Timestamp)
    return text


def _iso_micros(text: Col) -> Col:
    """Microseconds since the epoch of ``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`` (already matched), by the
    days-from-civil algorithm: integer arithmetic only, identical on both databases, never an error."""

    def part(start: Any, length: Any) -> Col:
        return cast(func.substr(text, start, length), BigInteger)

    year, month, day = part(1, 4), part(6, 2), part(9, 2)
    hour, minute, second = part(12, 2), part(15, 2), part(18, 2)
    length = func.length(text)
    utc = func.substr(text, length, 1) == "Z"
    zone_length = case((utc, 1), else_=6)
    offset_minutes = case(
        (utc, 0),
        else_=(part(length - 4, 2) * 60 + part(length - 1, 2))
        * case((func.substr(text, length - 5, 1) == "-", -1), else_=1),
    )
    digits = func.substr(text, 21, length - 20 - zone_length)
    fraction = case(
        (func.substr(text, 20, 1) == ".", cast(func.substr(digits.concat("000000"), 1, 6), BigInteger)), else_=0
    )
    shifted = year - case((month <= 2, 1), else_=0) + 400  # + 400: keep every division on positive numbers
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * case((month > 2, month - 3), else_=month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = (era - 1) * 146097 + day_of_era - 719468
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60
    return seconds * 1_000_000 + fraction


# -- subscriptions ---------------------------------------------------------------------------------------
def compile_subscription(compiler: ConditionCompiler, cond: SubscriptionCondition) -> ColumnElement[bool]:
    target = cond.subscription
    if target.category is None:
        opted_out = exists().where(
            channel_subscriptions.c.customer_id == customers.c.id,
            channel_subscriptions.c.channel == target.channel,
            channel_subscriptions.c.status == "N",
        )
        subscribed: ColumnElement[bool] = not_(opted_out)
    else:
        subscribed = exists().where(
            category_subscriptions.c.customer_id == customers.c.id,
            category_subscriptions.c.channel == target.channel,
            category_subscriptions.c.status == "Y",
            category_subscriptions.c.category_id
            == select(mailing_categories.c.id).where(mailing_categories.c.code == target.category).scalar_subquery(),
        )
    return subscribed if cond.op == "subscribed" else not_(subscribed)


# -- operators -------------------------------------------------------------------------------------------
TEXT_OPS: dict[str, Callable[[Col, Any], ColumnElement[bool]]] = {
    "equals": lambda c, v: c == v,
    "not_equals": lambda c, v: (c != v) | c.is_(None),
    # case-sensitive on both databases (SQLite's LIKE ignores ASCII case, PostgreSQL's does not)
    "contains": lambda c, v: Position(c, sql_literal(v, String())) > 0,
    "starts_with": lambda c, v: func.substr(c, 1, len(v)) == v,
    "in": lambda c, v: c.in_(v),
}

NUMBER_OPS: dict[str, Callable[[Col, Any], ColumnElement[bool]]] = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: (c != v) | c.is_(None),
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "between": lambda c, v: c.between(v[0], v[1]),
}


# -- the dialect seam: JSON types, patterns, substring position ------------------------------------------
class JsonIs(FunctionElement[bool]):
    """Whether ``json_column[key]`` is a JSON string / number / true / false."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, column: Col, key: Col, kind: str) -> None:
        self.kind = kind
        super().__init__(column, key)


class Matches(FunctionElement[bool]):
    """Whether a text is a decimal number (``-?[0-9]+(.[0-9]+)?``), a date or an ISO date-time."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, text: Col, pattern: str) -> None:
        self.pattern = pattern
        super().__init__(text)


class Position(FunctionElement[int]):
    """1-based position of ``needle`` in ``text`` (0 when absent), case-sensitive."""

    type = Integer()
    inherit_cache = True


_PG_JSON = {
    "string": "jsonb_typeof({c} -> CAST({k} AS TEXT)) = 'string'",
    "number": "jsonb_typeof({c} -> CAST({k} AS TEXT)) = 'number'",
    "true": "({c} -> CAST({k} AS TEXT)) = 'true'::jsonb",
    "false": "({c} -> CAST({k} AS TEXT)) = 'false'::jsonb",
}
_SQLITE_JSON = {"string": "('text')", "number": "('integer', 'real')", "true": "('true')", "false": "('false')"}
_DIGIT2 = "[0-9][0-9]"
_DATE_GLOB = f"[0-9][0-9]{_DIGIT2}-{_DIGIT2}-{_DIGIT2}"
_DATETIME_GLOBS = [
    f"{_DATE_GLOB}T{_DIGIT2}:{_DIGIT2}:{_DIGIT2}{fraction}{zone}"
    for fraction in ["", *("." + "[0-9]" * n for n in range(1, 7))]
    for zone in ("Z", f"[+-]{_DIGIT2}:{_DIGIT2}")
]
PATTERNS = {
    "decimal": r"^-?[0-9]+(\.[0-9]+)?$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$",
}


@compiles(JsonIs, "postgresql")
def _json_is_postgresql(element: JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = (compiler.process(clause, **kw) for clause in element.clauses)
    return "(" + _PG_JSON[element.kind].format(c=column, k=key) + ")"


@compiles(JsonIs, "sqlite")
def _json_is_sqlite(element: JsonIs, compiler: SQLCompiler, **kw: Any) -> str:
    column, key = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(json_type({column}, '$.\"' || {key} || '\"') IN {_SQLITE_JSON[element.kind]})"


@compiles(Matches, "postgresql")
def _matches_postgresql(element: Matches, compiler: SQLCompiler, **kw: Any) -> str:
    (text,) = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"({text} ~ '{PATTERNS[element.pattern]}')"


@compiles(Matches, "sqlite")
def _matches_sqlite(element: Matches, compiler: SQLCompiler, **kw: Any) -> str:
    (text,) = (compiler.process(clause, **kw) for clause in element.clauses)
    if element.pattern == "date":
        return f"({text} GLOB '{_DATE_GLOB}')"
    if element.pattern == "datetime":
        return "(" + " OR ".join(f"{text} GLOB '{glob}'" for glob in _DATETIME_GLOBS) + ")"
    # the strings of PATTERNS["decimal"]: an optional minus, digits, at most one dot followed by digits
    digits = f"ltrim({text}, '-')"
    return (
        f"({text} NOT GLOB '--*' AND {digits} GLOB '[0-9]*' AND {digits} NOT GLOB '*[^0-9.]*'"
        f" AND {digits} NOT GLOB '*.*.*' AND {digits} NOT GLOB '*.')"
    )


@compiles(Position, "postgresql")
def _position_postgresql(element: Position, compiler: SQLCompiler, **kw: Any) -> str:
    text, needle = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"strpos({text}, {needle})"


@compiles(Position, "sqlite")
def _position_sqlite(element: Position, compiler: SQLCompiler, **kw: Any) -> str:
    text, needle = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"instr({text}, {needle})"


LEAVES: dict[type[BaseModel], Callable[[ConditionCompiler, Any], ColumnElement[bool]]] = {
    FieldCondition: compile_field,
    SubscriptionCondition: compile_subscription,
}
