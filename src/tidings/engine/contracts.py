"""The small contracts through which actions plug into the engine.

An action sees a ``Batch`` (the customers of one chunk at one node) and answers with a ``Routing``: ordered
rules that send the matching customers to a port, drop them with a reason, or hold them at the node until a
time, plus effect statements (message rows, …) that run in the same transaction after the rules are applied.
Rules are SQL predicates, so a chunk of any size is routed with a handful of statements.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Executable, Select, exists, select

from tidings.store.dialects import Dialect
from tidings.store.tables import customers, journey_state


@dataclass(frozen=True)
class AccountSettings:
    timezone: str
    delivery_window_start: int
    delivery_window_end: int
    email_from: str
    email_from_name: str


@dataclass(frozen=True)
class Batch:
    """The customers of one claimed chunk, all at the same node of the same campaign version."""

    claim_id: str
    campaign_id: int
    version: int
    node_id: str
    size: int

    def member(self) -> ColumnElement[bool]:
        """Predicate on ``journey_state`` selecting this batch's rows."""
        return journey_state.c.claim_id == self.claim_id

    def rows(self) -> Select[Any]:
        return select(journey_state).where(self.member())


def customer_matches(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """Lift a predicate on ``customers`` to one on ``journey_state`` rows."""
    return exists().where(customers.c.id == journey_state.c.customer_id, condition)


@dataclass(frozen=True)
class Context:
    """What an action may use: the open transaction, the time, the account settings."""

    conn: Connection
    dialect: Dialect
    now: datetime
    account: AccountSettings


RuleKind = Literal["port", "drop", "hold"]


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    value: str | datetime
    where: ColumnElement[bool] | None


@dataclass
class Routing:
    """Ordered rules (first match wins) and effects. Every row of the batch must match some rule."""

    rules: list[Rule] = field(default_factory=list)
    effects: list[Executable] = field(default_factory=list)

    @classmethod
    def all_to(cls, port: str = "out") -> Routing:
        return cls().to(port)

    def to(self, port: str, where: ColumnElement[bool] | None = None) -> Routing:
        self.rules.append(Rule("port", port, where))
        return self

    def drop(self, reason: str, where: ColumnElement[bool] | None = None) -> Routing:
        self.rules.append(Rule("drop", reason, where))
        return self

    def hold(self, until: datetime, where: ColumnElement[bool] | None = None) -> Routing:
        self.rules.append(Rule("hold", until, where))
        return self

    def then(self, statement: Executable) -> Routing:
        """Run ``statement`` after the rules; it may read ``journey_state.outcome`` (``port:<name>``)."""
        self.effects.append(statement)
        return self


class Action(Protocol):
    """One node type. Implementations live one per module under ``tidings.actions``."""

    type: ClassVar[str]
    title: ClassVar[str]
    group: ClassVar[str]

    @property
    def config_model(self) -> builtins.type[BaseModel]: ...

    def ports(self, config: Any) -> Sequence[str]:
        """Output ports an edge may leave from; the first is the default port."""
        ...

    def due_on_arrival(self, config: Any, now: datetime, account: AccountSettings) -> datetime:
        """When a customer arriving now should first be processed (a wait returns a later time)."""
        ...

    def execute(self, batch: Batch, config: Any, ctx: Context) -> Routing:
        """Route every row of the batch. Raise only for engine faults; a customer problem is a drop reason."""
        ...
