"""Event occurred: every stored event with this name (and matching properties) enrols its customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, and_, true

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
        if self.op == "exists":
            return element.as_string().is_not(None) | element.as_float().is_not(None)
        if self.op == "not_exists":
            return element.as_string().is_(None) & element.as_float().is_(None)
        if self.op == "in":
            return element.as_string().in_([str(item) for item in value])
        if self.op == "contains":
            return element.as_string().contains(value, autoescape=True)
        if isinstance(value, bool):
            typed: Any = element.as_boolean()
        elif isinstance(value, (int, float)):
            typed = element.as_float()
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
