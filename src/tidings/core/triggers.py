"""The trigger contract: how a campaign's customers arrive.

A trigger is one of four kinds. ``api``: customers are enrolled through the API. ``event``: each stored event
with the trigger's name (and matching properties) enrols its customer. ``schedule``: at each fire time the
trigger enrols its audience — the whole customer base for triggers with no natural audience (D11), or the
customers it chooses for that fire (``ChoosesAudience``: dates of customers, orders and receipts, anniversaries,
"days since").
``segment``: each recompute of the trigger's segment enrols the customers who joined it (``SegmentTrigger``).
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, cast, runtime_checkable

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select

from tidings.core.account import AccountSettings

TriggerKind = Literal["api", "event", "schedule", "segment"]
#: What a ``segment`` trigger listens for: customers entering its segment, or leaving it.
SegmentChange = Literal["entered", "left"]


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


class SegmentTrigger(Trigger, Protocol):
    def segment_id(self, config: Any) -> int:
        """The segment whose newcomers (or leavers) the trigger enrols."""
        ...

    def segment_change(self, config: Any) -> SegmentChange:
        """Whether the trigger enrols the customers who enter the segment, or those who leave it."""
        ...


@runtime_checkable
class ChoosesAudience(Protocol):
    """A ``schedule`` trigger with a natural audience: each fire enrols the customers it selects, not the base."""

    def audience(self, config: Any, fire_at: datetime, account: AccountSettings) -> Select[Any]:
        """The customers (one column, ``customer_id``, each once) that the fire due at ``fire_at`` enrols: one
        query the engine enters in slices with ``INSERT … SELECT``. It depends on ``fire_at`` only (never on when
        the fire runs), so a fire resumed after a crash enrols the same customers."""
        ...


@runtime_checkable
class FiltersCustomers(Protocol):
    """An ``event`` trigger whose customers must also meet a condition on their profile (a
    ``model.conditions.Condition``), judged when the event is taken from the inbox, at that time."""

    def customer_condition(self, config: Any) -> Any | None:
        """The condition the event's customer must meet; None: anyone."""
        ...


def listened_segment(trigger: Trigger, config: Any) -> tuple[int, SegmentChange] | None:
    """The segment a ``segment`` trigger listens to, and for which change; None for the other kinds."""
    if trigger.kind != "segment":
        return None
    listening = cast(SegmentTrigger, trigger)
    return listening.segment_id(config), listening.segment_change(config)
