"""The campaign document: the one JSON contract shared by the API, the editor, the engine and the CLI.

Node and trigger models are generated from the action and trigger registries, so a node type exists in the
document exactly when the engine can run it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_serializer

from tidings.core.contracts import EdgesCarryCriteria, PortsFollowEdgeOrder, Sends
from tidings.core.delivery import DeliveryRules
from tidings.document.registry import ACTIONS, TRIGGERS

NodeId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

_STRICT = ConfigDict(extra="forbid")

#: The largest document accepted (README, "The campaign document"): far above any campaign a marketer draws,
#: low enough that checking one takes a fraction of a second. The API also bounds the bytes of every request
#: body (``TIDINGS_MAX_BODY_BYTES``).
MAX_NODES = 1_000
MAX_EDGES = 4_000

#: Every value an edge's ``criteria`` may take: the ports of the node types whose edges carry criteria.
_CRITERIA = tuple(
    dict.fromkeys(c for a in ACTIONS.values() if isinstance(a, EdgesCarryCriteria) for c in a.edge_criteria())
)
if TYPE_CHECKING:
    EdgeCriteria = str
else:
    EdgeCriteria = Literal[_CRITERIA]


class CampaignSettings(BaseModel):
    model_config = _STRICT
    reentry_interval: timedelta | None = Field(
        default=None,
        description="How long after their last entry a customer may enter again, e.g. every 365 days. Empty: "
        "any time, but never twice at once.",
    )

    @field_serializer("reentry_interval")
    def _iso_duration(self, value: timedelta | None) -> str | None:
        return None if value is None else iso_duration(value)

    attribution_days: int = Field(default=10, ge=0, le=365, description="Days an order is attributed to a message.")


def iso_duration(value: timedelta) -> str:
    """ISO-8601 in days and time only (P365D, PT90M): years and months have no fixed length."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days or not time else "") + (f"T{time}" if time else "")


class Edge(BaseModel):
    model_config = _STRICT
    source: NodeId
    target: NodeId
    source_port: str | None = Field(default=None, description="Output port; omit for a node's default port.")
    criteria: EdgeCriteria | None = Field(
        default=None,
        exclude_if=lambda value: value is None,  # documents without it stay as they were
        description="Only on a connection leaving Check email status, and required there: the e-mail status of "
        "the customers this connection takes (it is the connection's output).",
    )

    def port(self, default: str) -> str:
        """The output port this edge leaves from, given its source's default port."""
        return self.criteria or self.source_port or default


class Position(BaseModel):
    model_config = _STRICT
    x: float
    y: float


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


class NodeBase(BaseModel):
    """What every node shares; each node type narrows ``type`` to a literal and ``config`` to its model."""

    model_config = _STRICT
    id: NodeId
    type: str
    title: str | None = Field(default=None, max_length=200, description="The name shown on the canvas.")
    config: Any


def _node_model(type_name: str, config: type[BaseModel], suffix: str, default_id: str | None) -> type[NodeBase]:
    model: type[NodeBase] = create_model(
        f"{_camel(type_name)}{suffix}",
        __base__=NodeBase,
        id=(NodeId, default_id if default_id is not None else ...),
        type=(Literal[type_name], ...),  # type: ignore[arg-type]
        config=(config, ...),
    )
    return model


_ACTION_NODES = tuple(_node_model(t, a.config_model, "Node", None) for t, a in ACTIONS.items())
_TRIGGER_NODES = tuple(_node_model(t, tr.config_model, "Trigger", "trigger") for t, tr in TRIGGERS.items())

if TYPE_CHECKING:
    ActionNode = NodeBase
    TriggerNode = NodeBase
else:
    ActionNode = Annotated[Union[_ACTION_NODES], Field(discriminator="type")]  # noqa: UP007
    TriggerNode = Annotated[Union[_TRIGGER_NODES], Field(discriminator="type")]  # noqa: UP007


def ports_in_edge_order(node: NodeBase) -> list[str] | None:
    """The ports of an action node whose k-th edge leaves by its k-th port (``PortsFollowEdgeOrder``), else None."""
    action = ACTIONS[node.type]
    if isinstance(action, PortsFollowEdgeOrder) and action.ports_follow_edge_order(node.config):
        return [str(port) for port in action.ports(node.config)]
    return None


class CampaignDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Campaign document")
    name: str = Field(min_length=1, max_length=200)
    settings: CampaignSettings = Field(default_factory=CampaignSettings)
    trigger: TriggerNode
    nodes: list[ActionNode] = Field(
        default_factory=list, max_length=MAX_NODES, description=f"The actions; at most {MAX_NODES}."
    )
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_EDGES, description=f"At most {MAX_EDGES}.")
    layout: dict[str, Position] = Field(
        default_factory=dict, max_length=MAX_NODES + 1, description="Canvas positions by node id."
    )

    def node(self, node_id: str) -> NodeBase:
        """The node (or trigger) with this id."""
        if node_id == self.trigger.id:
            return self.trigger
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def has_node(self, node_id: str) -> bool:
        return node_id != self.trigger.id and any(node.id == node_id for node in self.nodes)

    def targets(self, node_id: str, port: str) -> list[str]:
        """Targets of ``node_id``'s edges from ``port``."""
        return [target for own, target in self.leaving(node_id) if own == port]

    def leaving(self, node_id: str) -> list[tuple[str, str]]:
        """(port, target) of each edge leaving ``node_id``, in edge order: the default port matches edges that name
        none; the edges of a node whose ports follow edge order take its ports in turn."""
        leaving = [edge for edge in self.edges if edge.source == node_id]
        in_order = self.ports_in_edge_order(node_id)
        if in_order is not None:
            return [(own, edge.target) for edge, own in zip(leaving, in_order, strict=False)]
        default = self.default_port(node_id)
        return [(edge.port(default), edge.target) for edge in leaving]

    def fans_out(self) -> bool:
        """Some port leads to more than one node, so an entry may have several tokens at once."""
        for source in {edge.source for edge in self.edges}:
            ports = [port for port, _ in self.leaving(source)]
            if len(ports) != len(set(ports)):
                return True
        return False

    def ports_in_edge_order(self, node_id: str) -> list[str] | None:
        """The ports of a node whose k-th edge leaves by its k-th port (``PortsFollowEdgeOrder``), else None."""
        if node_id == self.trigger.id:
            return None
        return ports_in_edge_order(self.node(node_id))

    def delivery_rules(self, node_id: str) -> DeliveryRules | None:
        """How the messages of a send node are delivered (``Sends``); None for any other node."""
        if node_id == self.trigger.id:
            return None
        node = self.node(node_id)
        action = ACTIONS[node.type]
        return action.delivery_rules(node.config) if isinstance(action, Sends) else None

    def default_port(self, node_id: str) -> str:
        if node_id == self.trigger.id:
            return "out"
        node = self.node(node_id)
        return str(ACTIONS[node.type].ports(node.config)[0])

    def first_child(self, node_id: str) -> str | None:
        for edge in self.edges:
            if edge.source == node_id:
                return edge.target
        return None
