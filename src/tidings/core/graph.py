"""The read-only view of a campaign's graph that actions get, instead of the whole campaign document.

An action needs the graph only to resolve references to other nodes (the filter a Refresh filter repeats, the
e-mail a Check email status looks at, the nodes downstream of an A/B test) and to know whether a port leads
anywhere. ``document.campaign.CampaignDocument`` implements it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class GraphNode(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def config(self) -> Any: ...


class GraphEdge(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def target(self) -> str: ...


class Graph(Protocol):
    def node(self, node_id: str) -> GraphNode:
        """The node (or trigger) with this id; ``KeyError`` when there is none."""
        ...

    def targets(self, node_id: str, port: str) -> list[str]:
        """The nodes the edges leaving ``node_id`` by ``port`` lead to."""
        ...

    @property
    def edges(self) -> Sequence[GraphEdge]:
        """Every edge, in document order."""
        ...
