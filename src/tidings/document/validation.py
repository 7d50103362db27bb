"""Checking a campaign document: the pydantic shape, then the graph. Errors name the node and the field."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import ValidationError

from tidings.core.contracts import ChecksGraph, EdgesCarryCriteria, UpstreamReferences
from tidings.core.errors import DocumentInvalid
from tidings.document.campaign import MAX_EDGES, MAX_NODES, CampaignDocument, ports_in_edge_order
from tidings.document.registry import ACTIONS, TRIGGERS
from tidings.model.catalog import Catalog
from tidings.model.conditions import CONDITION_TAGS
from tidings.model.templates import TEMPLATE_CHECK
from tidings.rendering.templates import SaveCheck

_TAGS = set(CONDITION_TAGS.values())


def parse_document(raw: Any, catalog: Catalog | None = None) -> CampaignDocument:
    """Parse and check a document; raise ``DocumentInvalid`` listing every problem found.

    Every template field is checked to parse, and to render once without data within the limits
    (``SaveCheck``). With a ``catalog``, references to custom fields, segments and audiences are checked too.
    """
    _refuse_oversized(raw)
    try:
        document = CampaignDocument.model_validate(raw, context={"catalog": catalog, TEMPLATE_CHECK: SaveCheck()})
    except ValidationError as error:
        problems = [_describe(raw, item) for item in error.errors(include_url=False)]
        raise DocumentInvalid(_summary(problems), details=problems) from None
    problems = graph_problems(document)
    if problems:
        raise DocumentInvalid(_summary(problems), details=problems)
    return document


def _refuse_oversized(raw: Any) -> None:
    """Refuse a document above the size limits before any of it is checked, saying the limit."""
    if not isinstance(raw, dict):
        return
    for field, limit in (("nodes", MAX_NODES), ("edges", MAX_EDGES), ("layout", MAX_NODES + 1)):
        given = raw.get(field)
        if isinstance(given, (list, dict)) and len(given) > limit:
            message = f"a campaign holds at most {limit} {field}; this one has {len(given)}"
            raise DocumentInvalid(
                f"invalid campaign: field {field!r}: {message}",
                details=[{"node": None, "field": field, "message": message, "limit": limit}],
            )


def _summary(problems: list[dict[str, Any]]) -> str:
    first = problems[0]
    where = f"node {first['node']!r}" if first.get("node") else "document"
    field = f", field {first['field']!r}" if first.get("field") else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"invalid campaign: {where}{field}: {first['message']}{more}"


def _describe(raw: Any, item: Any) -> dict[str, Any]:
    loc = list(item["loc"])
    node: str | None = None
    if loc and loc[0] == "nodes" and len(loc) > 1 and isinstance(loc[1], int):
        node = _raw_id(raw, "nodes", loc[1]) or f"nodes[{loc[1]}]"
        loc = loc[3:] if len(loc) > 2 and loc[2] in ACTIONS else loc[2:]
    elif loc and loc[0] == "edges" and len(loc) > 1 and isinstance(loc[1], int):
        node = _raw_edge_source(raw, loc[1])
    elif loc and loc[0] == "trigger":
        node = _raw_trigger_id(raw)
        loc = (
            loc[2:] if len(loc) > 1 and isinstance(loc[1], str) and loc[1] not in ("id", "type", "config") else loc[1:]
        )
    field = _path(loc)
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "union_tag_invalid":
        given = item["input"].get("type") if isinstance(item["input"], dict) else item["input"]
        known = TRIGGERS if loc == [] and node == _raw_trigger_id(raw) and item["loc"][0] == "trigger" else ACTIONS
        message = f"unknown type {given!r}; known types: {', '.join(sorted(known))}"
        field = "type"
    if item["type"] == "extra_forbidden":
        message = "unknown field"
    return {"node": node, "field": field or None, "message": message}


def _path(loc: list[Any]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        elif part not in _TAGS and not str(part).startswith("function-"):
            parts.append(str(part))
    return ".".join(parts)


def _raw_id(raw: Any, key: str, index: int) -> str | None:
    try:
        value = raw[key][index]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _raw_edge_source(raw: Any, index: int) -> str | None:
    try:
        value = raw["edges"][index]["source"]
    except (KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _raw_trigger_id(raw: Any) -> str:
    try:
        value = raw["trigger"].get("id", "trigger")
    except (KeyError, AttributeError, TypeError):
        return "trigger"
    return value if isinstance(value, str) else "trigger"


def graph_problems(document: CampaignDocument) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []

    def problem(node: str | None, field: str | None, message: str) -> None:
        problems.append({"node": node, "field": field, "message": message})

    ids = [document.trigger.id] + [node.id for node in document.nodes]
    seen: set[str] = set()
    for node_id in ids:
        if node_id in seen:
            problem(node_id, "id", f"node id {node_id!r} is used twice")
        seen.add(node_id)

    ports: dict[str, list[str]] = {document.trigger.id: ["out"]}
    for node in document.nodes:
        ports[node.id] = list(ACTIONS[node.type].ports(node.config))
    types = {node.id: node.type for node in document.nodes}

    in_order = {node.id: ports_in_edge_order(node) for node in document.nodes}
    positions: dict[str, int] = defaultdict(int)  # edges met so far per source: a node's k-th edge, port k
    children: dict[str, list[str]] = defaultdict(list)
    seen_edges: set[tuple[str, str, str]] = set()
    for index, edge in enumerate(document.edges):
        position = positions[edge.source]
        positions[edge.source] += 1
        where = f"edges[{index}]"
        if edge.source not in ports:
            problem(edge.source, f"{where}.source", f"edge starts at unknown node {edge.source!r}")
            continue
        if edge.target not in ports:
            problem(edge.source, f"{where}.target", f"edge ends at unknown node {edge.target!r}")
            continue
        if edge.target == document.trigger.id:
            problem(edge.source, f"{where}.target", "no edge may lead into the trigger")
            continue
        criteria = _criteria_problem(edge.criteria, edge.source_port, types.get(edge.source))
        if criteria is not None:
            problem(edge.source, f"{where}.{criteria[0]}", criteria[1])
            continue
        allowed = ports[edge.source]
        port = edge.port(allowed[0])
        ordered = in_order.get(edge.source)
        if ordered is not None:
            if position >= len(ordered):
                problem(
                    edge.source,
                    where,
                    f"edge {position + 1} leaves a node with {len(ordered)} outputs ({', '.join(ordered)}), whose "
                    "edges are its outputs in order; remove the edge or add an output",
                )
                continue
            if edge.source_port is not None and edge.source_port != ordered[position]:
                problem(
                    edge.source,
                    f"{where}.source_port",
                    f"this is edge {position + 1} of {edge.source!r}, whose edges are its outputs in order, so it "
                    f"leaves by {ordered[position]!r}, not {edge.source_port!r}; omit source_port or reorder the edges",
                )
                continue
            port = ordered[position]
        elif edge.source_port is None and edge.criteria is None and len(allowed) > 1:
            problem(
                edge.source, f"{where}.source_port", f"this node has several outputs; name one of: {', '.join(allowed)}"
            )
            continue
        if port not in allowed:
            problem(
                edge.source, f"{where}.source_port", f"port {port!r} does not exist; use one of: {', '.join(allowed)}"
            )
            continue
        key = (edge.source, port, edge.target)
        if key in seen_edges:
            problem(edge.source, where, f"duplicate edge {edge.source}:{port} → {edge.target}")
            continue
        seen_edges.add(key)
        children[edge.source].append(edge.target)

    cycle = _find_cycle(list(ports), children)
    if cycle:
        closing = next(
            index for index, edge in enumerate(document.edges) if (edge.source, edge.target) == (cycle[-2], cycle[-1])
        )
        problem(cycle[-2], f"edges[{closing}]", f"this edge closes a cycle: {' → '.join(cycle)}")

    reachable = _reachable(document.trigger.id, children)
    for node in document.nodes:
        if node.id not in reachable:
            problem(node.id, None, "unreachable: no path leads here from the trigger")
    for node in document.nodes:
        action = ACTIONS[node.type]
        if isinstance(action, ChecksGraph):
            for field, message in action.graph_problems(node.id, node.config, document):
                problem(node.id, field, message)
        if not isinstance(action, UpstreamReferences):
            continue
        for ref in action.upstream_references(node.config):
            field = f"config.{ref.field}"
            if ref.node_id not in types:
                problem(node.id, field, f"refers to unknown node {ref.node_id!r}; name a {ref.node_type} node upstream")
            elif types[ref.node_id] != ref.node_type:
                problem(node.id, field, f"node {ref.node_id!r} is a {types[ref.node_id]}, not a {ref.node_type}")
            elif ref.node_id == node.id or node.id not in _reachable(ref.node_id, children):
                problem(node.id, field, f"node {ref.node_id!r} is not upstream: no path leads from it to this node")
    for node_id in document.layout:
        if node_id not in ports:
            problem(node_id, "layout", f"layout names unknown node {node_id!r}")
    return problems


def _criteria_problem(criteria: str | None, source_port: str | None, source_type: str | None) -> tuple[str, str] | None:
    """(field, message) when an edge's ``criteria`` does not fit its source: required on, and only on, edges
    leaving a node whose edges carry criteria (``EdgesCarryCriteria``); a ``source_port`` there may only repeat it."""
    action = ACTIONS.get(source_type) if source_type is not None else None
    if not isinstance(action, EdgesCarryCriteria):
        if criteria is None:
            return None
        carriers = " or ".join(sorted(t for t, a in ACTIONS.items() if isinstance(a, EdgesCarryCriteria)))
        return "criteria", f"criteria belong only on edges leaving a {carriers} node; remove it"
    if criteria is None:
        return "criteria", f"an edge leaving {source_type} needs criteria: one of {', '.join(action.edge_criteria())}"
    if source_port is not None and source_port != criteria:
        return "source_port", f"port {source_port!r} differs from criteria {criteria!r}; omit source_port"
    return None


def _reachable(start: str, children: dict[str, list[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def _find_cycle(nodes: list[str], children: dict[str, list[str]]) -> list[str] | None:
    """A cycle as a path that ends where it starts, else None: a depth-first search with an explicit stack (a
    document may be a chain far deeper than Python's recursion limit), each node and edge visited once."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in nodes:
        if start in state:
            continue
        state[start] = 1
        path = [start]
        position = {start: 0}
        stack = [iter(children[start])]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                state[path.pop()] = 2
                continue
            if state.get(child) == 1:
                return [*path[position[child] :], child]
            if child not in state:
                state[child] = 1
                position[child] = len(path)
                path.append(child)
                stack.append(iter(children[child]))
    return None
