"""The small contracts through which actions plug into the engine.

An action sees a ``Batch`` (the customers of one chunk at one node) and answers with a ``Routing``: ordered
rules that send the matching customers to a port, drop them with a reason, or hold them at the node until a
time, plus effect statements (message rows, …) that run in the same transaction after the rules are applied.
Rules are SQL predicates, so a chunk of any size is routed with a handful of statements.

Each rule gives its rows an ``Outcome`` (``core.outcomes``). A port rule may carry a reason: the customers leave
by the port as performed, but the trace records the reason and the node counts them as suppressed — a
control-group customer at a send node (D1) is routed on as if sent, though nothing reached them. Effects name the
rows they act on with ``Batch.performed`` (which leaves suppressed rows out) or ``Batch.held``.

Optional hooks let the engine ask an action about the graph around it, without knowing its type:
``UpstreamReferences``, ``PortsFollowEdgeOrder``, ``EdgesCarryCriteria`` and ``ChecksGraph`` (read with the
document's edges), ``NarrowsWholeBase`` / ``ClosesAdmission`` (consulted when customers enter), and ``Sends``
(read by the delivery pipeline, through the composition root, for the messages a send node queued).
Two more tell the editor how to draw a node:
``NamesPorts`` (outputs called in words) and ``PortsCountedBySetting`` (one output per variant).

Each action names its ``PaletteGroup``: the section of the editor's palette it is found in.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Executable, Select

from tidings.core.account import AccountSettings
from tidings.core.delivery import DeliveryRules
from tidings.core.dialect import Dialect
from tidings.core.graph import Graph
from tidings.core.outcomes import HELD, Dropped, Held, Outcome, Performed


@dataclass(frozen=True)
class Batch:
    """The customers of one chunk, all at the same node of the same campaign version. The engine claimed them for
    the transaction the action runs in; nobody else advances them until it ends."""

    campaign_id: int
    version: int
    node_id: str
    size: int
    #: Predicate on ``journey_state`` selecting this batch's rows (built by the engine, which owns the table).
    member: ColumnElement[bool] = field(compare=False, repr=False)
    #: Predicate on ``journey_state``: this batch's rows that the rules gave an outcome (built by the engine, which
    #: keeps the outcomes while the batch is advanced; read it through ``performed`` and ``held``).
    given: Callable[[Outcome], ColumnElement[bool]] = field(compare=False, repr=False)

    def performed(self, port: str = "out") -> ColumnElement[bool]:
        """Predicate on ``journey_state``: this batch's rows that the rules sent on by ``port`` as performed, for an
        effect (``Routing.then``) to act on. A row suppressed at that port is not one of them: nothing was done
        for it."""
        return self.given(Performed(port))

    def held(self) -> ColumnElement[bool]:
        """Predicate on ``journey_state``: this batch's rows that the rules hold at the node."""
        return self.given(HELD)


#: Reason recorded when a customer-facing action is suppressed for a control-group customer (D1).
CONTROL_GROUP = "control_group"


@dataclass(frozen=True)
class Context:
    """What an action may use: the open transaction, the time, the account settings, and the graph of the
    batch's campaign version (to resolve references to other nodes)."""

    conn: Connection
    dialect: Dialect
    now: datetime
    account: AccountSettings
    graph: Graph


@dataclass(frozen=True)
class Rule:
    """The unrouted rows of the batch that ``where`` holds for (all of them when None) get ``outcome``; held rows
    are due again at ``until``. With ``first``, at most that many of them do: the earliest to arrive (by row id)."""

    outcome: Outcome
    where: ColumnElement[bool] | None
    until: datetime | None = None
    first: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.outcome, Held) != (self.until is not None):
            raise ValueError(f"{self!r}: a rule that holds customers says until when, and no other rule does")


@dataclass
class Routing:
    """Ordered rules (first match wins) and effects. Every row of the batch must match some rule."""

    rules: list[Rule] = field(default_factory=list)
    effects: list[Executable] = field(default_factory=list)

    @classmethod
    def all_to(cls, port: str = "out") -> Routing:
        return cls().to(port)

    def to(self, port: str, where: ColumnElement[bool] | None = None, *, first: int | None = None) -> Routing:
        """Send on by ``port`` the rows ``where`` holds for; with ``first``, only that many of them (the earliest to
        arrive), e.g. the free places of a limit."""
        self.rules.append(Rule(Performed(port), where, first=first))
        return self

    def suppress(self, port: str, reason: str, where: ColumnElement[bool] | None = None) -> Routing:
        """Route on by ``port`` as performed, but record that the action was not carried out, and why."""
        self.rules.append(Rule(Performed(port, reason), where))
        return self

    def drop(self, reason: str, where: ColumnElement[bool] | None = None) -> Routing:
        self.rules.append(Rule(Dropped(reason), where))
        return self

    def hold(self, until: datetime, where: ColumnElement[bool] | None = None) -> Routing:
        self.rules.append(Rule(HELD, where, until))
        return self

    def then(self, statement: Executable) -> Routing:
        """Run ``statement`` after the rules; it names the rows it acts on with ``Batch.performed`` (a suppressed row
        is not among them) or ``Batch.held``."""
        self.effects.append(statement)
        return self


class PaletteGroup(StrEnum):
    """The sections of the editor's palette, in the order the palette shows them."""

    FLOW = "flow"
    CUSTOMERS = "customers"
    MESSAGES = "messages"
    LOYALTY = "loyalty"
    LIMITS = "limits"


#: What the palette calls each section, in the marketer's words.
PALETTE_GROUP_TITLES: Mapping[PaletteGroup, str] = {
    PaletteGroup.FLOW: "Flow and timing",
    PaletteGroup.CUSTOMERS: "Customers and audiences",
    PaletteGroup.MESSAGES: "Messages",
    PaletteGroup.LOYALTY: "Points and bonuses",
    PaletteGroup.LIMITS: "Limits",
}


class Action(Protocol):
    """One node type. Implementations live one per module under ``tidings.actions``."""

    type: ClassVar[str]
    title: ClassVar[str]
    group: ClassVar[PaletteGroup]

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


@dataclass(frozen=True)
class UpstreamReference:
    """A config field naming another node, which must be of ``node_type`` and lie upstream of the referrer."""

    field: str
    node_id: str
    node_type: str


@runtime_checkable
class UpstreamReferences(Protocol):
    def upstream_references(self, config: Any) -> Sequence[UpstreamReference]:
        """The nodes this node's config refers to; a document that breaks one is refused when saved."""
        ...


@runtime_checkable
class PortsFollowEdgeOrder(Protocol):
    def ports_follow_edge_order(self, config: Any) -> bool:
        """True when the node's edges are its ports in document order: the k-th edge leaving it leaves by its
        k-th port (an A/B test's variants, as the editor draws them). Such an edge may omit ``source_port``; one
        that names it must name its own."""
        ...


@runtime_checkable
class PortsCountedBySetting(Protocol):
    """A node with one output per unit of a number setting (an A/B test: one per variant). The editor draws the
    outputs of a node as its settings are edited, without asking the engine."""

    #: The config field that counts the outputs.
    ports_counted_by: ClassVar[str]

    def possible_ports(self) -> Sequence[str]:
        """Every output the node may have, in order; a node whose setting is n has the first n."""
        ...


@runtime_checkable
class NamesPorts(Protocol):
    def port_titles(self) -> Mapping[str, str]:
        """How the editor labels the node's outputs, in the marketer's words; an output not named here is
        labelled by its own name (``yes``, ``no``)."""
        ...


@runtime_checkable
class EdgesCarryCriteria(Protocol):
    def edge_criteria(self) -> Sequence[str]:
        """The values an edge leaving this node may carry in ``criteria``; each edge must carry one, and it is
        the edge's port (Check email status: the e-mail statuses)."""
        ...


@runtime_checkable
class ChecksGraph(Protocol):
    def graph_problems(self, node_id: str, config: Any, graph: Graph) -> Sequence[tuple[str, str]]:
        """``(field, message)`` for each way the graph around this node makes it unable to run; a document with
        one is refused when saved."""
        ...


@runtime_checkable
class NarrowsWholeBase(Protocol):
    def whole_base_candidates(self, config: Any) -> Select[Any]:
        """D11: when this node is the only child of a trigger that enters the whole base, the customers who
        would leave it by its default port (one column, ``customer_id``); entering uses them as the candidates
        and the tokens pass this node at once."""
        ...


@runtime_checkable
class ClosesAdmission(Protocol):
    def admission_closed(self, config: Any, campaign_id: int, node_id: str) -> ColumnElement[bool] | None:
        """D4: a predicate that holds once this node stops the campaign admitting new entries, or None."""
        ...

    def closed_reason(self, config: Any, node_id: str) -> str:
        """What the campaign's status says while this node keeps it closed."""
        ...


@runtime_checkable
class Sends(Protocol):
    def delivery_rules(self, config: Any) -> DeliveryRules:
        """How the messages this node queues are delivered: what it sends on each channel, its delivery window,
        lifetime (``core.delivery``). Every action that queues message rows declares it."""
        ...
