"""What becomes of a chunk's customers at a node, and the one place that knows how it is written down.

An action's rules (``core.contracts.Routing``) give every row of a chunk one ``Outcome``: it leaves by a port as
performed (``Performed``; with a reason the action was suppressed for it, though it moves on all the same), it
drops out (``Dropped``), or it waits at the node (``Held``). Outcomes are spelled in two places, both here:

* ``journey_state.outcome``, written while a chunk is advanced (``encode``, read back with ``decode``): actions
  name the rows they act on through ``Batch.performed`` / ``Batch.held`` instead;
* the names of the node counters (``node_counters.metric``) that the stats API serves: ``entered``,
  ``performed`` and one counter per port or reason of a family (``counter``, ``counter_names``, ``by_family``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Performed:
    """The customer leaves by ``port`` as performed. With a ``reason`` the action was not carried out for them
    (a suppression, e.g. a control-group customer at a send node), yet they move on by the port."""

    port: str
    reason: str | None = None


@dataclass(frozen=True)
class Dropped:
    """The customer leaves the campaign here, for ``reason``."""

    reason: str


@dataclass(frozen=True)
class Held:
    """The customer stays at the node, due again later (the time is the rule's, not part of the outcome)."""


Outcome = Performed | Dropped | Held

HELD = Held()


# -- journey_state.outcome -------------------------------------------------------------------------------------
def encode(outcome: Outcome) -> str:
    """The value of ``journey_state.outcome`` on the rows given ``outcome``."""
    if isinstance(outcome, Performed):
        return f"port:{outcome.port}" + (f":{outcome.reason}" if outcome.reason else "")
    if isinstance(outcome, Dropped):
        return f"drop:{outcome.reason}"
    return "hold"


def decode(value: str) -> Outcome:
    """The outcome ``encode`` wrote as ``value`` (a port never holds ``:``; a reason may)."""
    kind, _, rest = value.partition(":")
    if kind == "port":
        port, _, reason = rest.partition(":")
        return Performed(port, reason or None)
    if kind == "drop":
        return Dropped(rest)
    if value == encode(HELD):
        return HELD
    raise ValueError(f"journey_state.outcome {value!r} is not an encoded outcome")


# -- node counters ---------------------------------------------------------------------------------------------
#: Customers who arrived at the node.
ENTERED = "entered"
#: Customers who left the node by a port (suppressed ones included).
PERFORMED = "performed"
#: Counters kept per port (``port``) or per reason (the others).
CounterFamily = Literal["port", "dropped", "suppressed", "removed"]


def counter(family: CounterFamily, key: str) -> str:
    """The name of the counter of ``family`` for one port or reason."""
    return f"{family}:{key}"


def counter_names(outcome: Outcome) -> tuple[str, ...]:
    """The node counters that each row leaving with ``outcome`` adds one to."""
    if isinstance(outcome, Performed):
        suppressed = (counter("suppressed", outcome.reason),) if outcome.reason else ()
        return (PERFORMED, counter("port", outcome.port), *suppressed)
    if isinstance(outcome, Dropped):
        return (counter("dropped", outcome.reason),)
    return ()


def by_family(counters: Mapping[str, int], family: CounterFamily) -> dict[str, int]:
    """The counters of ``family`` among ``counters`` (name → value), by port or reason, sorted."""
    prefix = counter(family, "")
    return {name.removeprefix(prefix): value for name, value in sorted(counters.items()) if name.startswith(prefix)}
