"""The trigger contract: how a campaign's customers arrive.

A trigger is one of three kinds. ``api``: customers are enrolled through the API. ``event``: each stored event
with the trigger's name (and matching properties) enrols its customer. ``schedule``: at each fire time the
trigger enrols its audience — the whole customer base for triggers with no natural audience (D11).
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel
from sqlalchemy import ColumnElement

from tidings.engine.contracts import AccountSettings

TriggerKind = Literal["api", "event", "schedule"]


class Trigger(Protocol):
    type: ClassVar[str]
    title: ClassVar[str]

    @property
    def kind(self) -> TriggerKind: ...
    @property
    def config_model(self) -> builtins.type[BaseModel]: ...

    def event_name(self, config: Any) -> str | None:
        """For ``event`` triggers: the event name to listen to."""
        ...

    def event_matches(self, config: Any) -> ColumnElement[bool] | None:
        """For ``event`` triggers: an extra predicate on the ``events`` row (property conditions)."""
        ...

    def next_fire_at(self, config: Any, after: datetime, account: AccountSettings) -> datetime | None:
        """For ``schedule`` triggers: the first fire time strictly after ``after``; None when it never fires again."""
        ...
