"""The SQL of a ``PropertyCondition``: a test on one property of an ``events`` row, alike on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, case, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tidings.model.conditions import PropertyCondition
from tidings.store.tables import events


def property_holds(condition: PropertyCondition) -> ColumnElement[bool]:
    """Predicate on ``events`` rows whose property satisfies ``condition``."""
    holds: ColumnElement[bool] = _compile(condition)
    return holds


def _compile(condition: PropertyCondition) -> Any:
    element = events.c.properties[condition.property]
    value: Any = condition.value
    # Numbers and booleans are compared only when the event holds one (a JSON number or a string such as "12.5";
    # a JSON boolean): casting any other value fails on PostgreSQL, so one bad event would block the whole
    # inbox, and gives 0 on SQLite.
    number = case((_HoldsNumber(literal(condition.property)), element.as_float()))
    if condition.op == "exists":
        return element.as_string().is_not(None)
    if condition.op == "not_exists":
        return element.as_string().is_(None)
    if condition.op == "in":
        texts = [item for item in value if isinstance(item, str)]
        numbers = [item for item in value if not isinstance(item, str)]
        return or_(element.as_string().in_(texts), number.in_(numbers))
    if condition.op == "contains":
        return element.as_string().contains(value, autoescape=True)
    if isinstance(value, bool):
        typed: Any = case((_HoldsBoolean(literal(condition.property)), element.as_boolean()))
    elif isinstance(value, (int, float)):
        typed = number
    else:
        typed = element.as_string()
    return {
        "equals": lambda: typed == value,
        "not_equals": lambda: (typed != value) | typed.is_(None),
        "gt": lambda: typed > value,
        "gte": lambda: typed >= value,
        "lt": lambda: typed < value,
        "lte": lambda: typed <= value,
    }[condition.op]()


class _HoldsNumber(FunctionElement[bool]):
    """Whether ``events.properties[key]`` is a JSON number or a string written as one (``-12.5``)."""

    type = Boolean()
    inherit_cache = True


class _HoldsBoolean(FunctionElement[bool]):
    """Whether ``events.properties[key]`` is a JSON true or false."""

    type = Boolean()
    inherit_cache = True


def _operands(element: FunctionElement[bool], compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    """The rendered ``events.properties`` column and property-name parameter."""
    (key,) = element.clauses
    return compiler.process(events.c.properties, **kw), compiler.process(key, **kw)


@compiles(_HoldsNumber, "postgresql")
def _number_postgresql(element: FunctionElement[bool], compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _operands(element, compiler, **kw)
    return f"(jsonb_typeof({column} -> {key}) = 'number' OR ({column} ->> {key}) ~ '^-?[0-9]+(\\.[0-9]+)?$')"


@compiles(_HoldsNumber, "sqlite")
def _number_sqlite(element: FunctionElement[bool], compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _operands(element, compiler, **kw)
    path = f"'$.\"' || {key} || '\"'"
    # the same strings as the PostgreSQL pattern: an optional minus, digits, at most one dot followed by digits
    digits = f"ltrim(json_extract({column}, {path}), '-')"
    return (
        f"(json_type({column}, {path}) IN ('integer', 'real') OR (json_type({column}, {path}) = 'text'"
        f" AND json_extract({column}, {path}) NOT GLOB '--*' AND {digits} GLOB '[0-9]*'"
        f" AND {digits} NOT GLOB '*[^0-9.]*' AND {digits} NOT GLOB '*.*.*' AND {digits} NOT GLOB '*.'))"
    )


@compiles(_HoldsBoolean, "postgresql")
def _boolean_postgresql(element: FunctionElement[bool], compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _operands(element, compiler, **kw)
    return f"(jsonb_typeof({column} -> {key}) = 'boolean')"


@compiles(_HoldsBoolean, "sqlite")
def _boolean_sqlite(element: FunctionElement[bool], compiler: SQLCompiler, **kw: Any) -> str:
    column, key = _operands(element, compiler, **kw)
    return f"(json_type({column}, '$.\"' || {key} || '\"') IN ('true', 'false'))"
