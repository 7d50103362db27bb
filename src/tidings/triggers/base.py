"""The trigger contract: how a campaign's customers arrive.

A trigger is one of three kinds. ``api``: customers are enrolled through the API. ``event``: each stored event
with the trigger's name (and matching properties) enrols its customer. ``schedule``: at each fire time the
trigger enrols its audience — the whole customer base for triggers with no natural audience (D11).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement

from tidings.engine.contracts import AccountSettings

ConfigT = TypeVar("ConfigT", bound=BaseModel)

TriggerKind = Literal["api", "event", "schedule"]


class Trigger(Protocol[ConfigT]):
    type: ClassVar[str]
    title: ClassVar[str]
    kind: ClassVar[TriggerKind]
    config_model: type[ConfigT]

    def event_name(self, config: ConfigT) -> str | None:
        """For ``event`` triggers: the event name to listen to."""
        ...

    def event_matches(self, config: ConfigT) -> ColumnElement[bool] | None:
        """For ``event`` triggers: an extra predicate on the ``events`` row (property conditions)."""
        ...

    def next_fire_at(self, config: ConfigT, after: datetime, account: AccountSettings) -> datetime | None:
        """For ``schedule`` triggers: the first fire time strictly after ``after``; None when it never fires again."""
        ...
