"""Event occurred: every stored event with this name (and matching properties) enrols its customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Boolean, ColumnElement, and_, case, literal, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tidings.engine.contracts import AccountSettings
from tidings.store.tables import events

PropertyOp = Literal["equals", "not_equals", "gt", "gte", "lt", "lte", "contains", "in", "exists", "not_exists"]


class PropertyCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Event property code (no hyphens).")
    op: PropertyOp = "equals"
    value: str | float | bool | list[str | float] | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> PropertyCondition:
        if self.op in ("exists", "not_exists"):
            if self.value is not None:
                raise ValueError(f"operator {self.op!r} takes no value")
        elif self.op == "in":
            if not isinstance(self.value, list) or not self.value:
                raise ValueError("operator 'in' needs a non-empty list value")
        elif self.op in ("gt", "gte", "lt", "lte"):
            if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
                raise ValueError(f"operator {self.op!r} needs a number value")
        elif self.op == "contains":
            if not isinstance(self.value, str):
                raise ValueError("operator 'contains' needs a text value")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError(f"operator {self.op!r} needs a single value")
        return self

    def compile(self) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = self._compile()
        return condition

    def _compile(self) -> Any:
        element = events.c.properties[self.property]
        value: Any = self.value
        # Numbers and booleans are compared only when the event holds one (a JSON number or a string such as "12.5";
        # a JSON boolean): casting any other value fails on PostgreSQL, so one bad event would block the whole
        # inbox, and gives 0 on SQLite.
        number = case((_HoldsNumber(literal(self.property)), element.as_float()))
        if self.op == "exists":
            return element.as_string().is_not(None)
        if self.op == "not_exists":
            return element.as_string().is_(None)
        if self.op == "in":
            texts = [item for item in value if isinstance(item, str)]
            numbers = [item for item in value if not isinstance(item, str)]
            return or_(element.as_string().in_(texts), number.in_(numbers))
        if self.op == "contains":
            return element.as_string().contains(value, autoescape=True)
        if isinstance(value, bool):
            typed: Any = case((_HoldsBoolean(literal(self.property)), element.as_boolean()))
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
        }[self.op]()


class EventOccurredConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Event occurred")
    event: str = Field(min_length=1, max_length=128, description="Event name, e.g. `order_paid`.")
    properties: list[PropertyCondition] = Field(default_factory=list, description="All must hold.")


class EventOccurred:
    type: ClassVar[str] = "event_occurred"
    title: ClassVar[str] = "Event occurred"
    kind: ClassVar[Literal["event"]] = "event"
    config_model = EventOccurredConfig

    def event_name(self, config: EventOccurredConfig) -> str | None:
        return config.event

    def event_matches(self, config: EventOccurredConfig) -> ColumnElement[bool] | None:
        return and_(true(), *(condition.compile() for condition in config.properties))

    def next_fire_at(self, config: EventOccurredConfig, after: datetime, account: AccountSettings) -> datetime | None:
        return None


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
