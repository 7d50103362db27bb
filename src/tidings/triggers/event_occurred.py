"""Event occurred: every stored event with this name (and matching properties) enrols its customer."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, true

from tidings.core.account import AccountSettings
from tidings.model.conditions import PropertyCondition
from tidings.segments.event_properties import property_holds


class EventOccurredConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Event occurred")
    event: str = Field(min_length=1, max_length=128, description="Event name as your site sends it, e.g. “order paid”.")
    properties: list[PropertyCondition] = Field(default_factory=list, description="All must hold.")


class EventOccurred:
    type: ClassVar[str] = "event_occurred"
    title: ClassVar[str] = "Event occurred"
    kind: ClassVar[Literal["event"]] = "event"
    config_model = EventOccurredConfig

    def event_name(self, config: EventOccurredConfig) -> str | None:
        return config.event

    def event_matches(self, config: EventOccurredConfig) -> ColumnElement[bool] | None:
        return and_(true(), *(property_holds(condition) for condition in config.properties))

    def next_fire_at(self, config: EventOccurredConfig, after: datetime, account: AccountSettings) -> datetime | None:
        return None
