/** The canvas is derived from the document by pure functions (and the document recovered from it): React
 * Flow nodes and edges carry the document's own node and edge objects, positions come from ``layout``. */
import type { Edge, Node } from "@xyflow/react";
import type { CampaignDoc, DocEdge, DocNode, Position } from "./doc";
import { layeredLayout } from "./layout";
import { isVariantNode, nodeType, portsOf, portTitle, type EditorMeta } from "./meta";

export type NodeData = {
  node: DocNode;
  trigger: boolean;
  ports: string[];
};
export type CanvasNode = Node<NodeData, "campaign">;

export type EdgeData = {
  edge: DocEdge;
  port: string;
  /** How the line is labelled: the words for its output when its node has several outputs, else null. */
  title: string | null;
};
export type CanvasEdge = Edge<EdgeData>;

export interface Canvas {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

export interface Selection {
  nodes: ReadonlySet<string>;
  edges: ReadonlySet<string>;
}

export const NO_SELECTION: Selection = { nodes: new Set(), edges: new Set() };
export const INPUT_HANDLE = "in";

/** Positions of every node: the document's layout, and the layered layout for nodes it does not place. */
export function positionsOf(doc: CampaignDoc): Record<string, Position> {
  const layout = doc.layout ?? {};
  const ids = [doc.trigger.id, ...doc.nodes.map((node) => node.id)];
  if (ids.every((id) => layout[id])) return layout;
  const auto = layeredLayout(doc);
  const placed = Object.values(layout);
  const shift = placed.length ? Math.max(...placed.map((p) => p.y)) + 160 - Math.min(...Object.values(auto).map((p) => p.y)) : 0;
  const positions: Record<string, Position> = {};
  for (const id of ids) positions[id] = layout[id] ?? { x: auto[id].x, y: auto[id].y + (placed.length ? shift : 0) };
  return positions;
}

function sourceOf(doc: CampaignDoc, edge: DocEdge): DocNode | undefined {
  return edge.source === doc.trigger.id ? doc.trigger : doc.nodes.find((node) => node.id === edge.source);
}

/** The output handle an edge leaves from. Outputs of a variant node are its edges in order. */
export function edgePorts(doc: CampaignDoc, meta: EditorMeta): string[] {
  const seen = new Map<string, number>();
  return doc.edges.map((edge) => {
    const source = sourceOf(doc, edge);
    if (!source) return edge.source_port ?? "out";
    const trigger = source === doc.trigger;
    if (isVariantNode(meta, source, trigger)) {
      const index = seen.get(edge.source) ?? 0;
      seen.set(edge.source, index + 1);
      return nodeType(meta, source, trigger)?.ports[index]?.id ?? edge.source_port ?? "";
    }
    return edge.source_port ?? edge.criteria ?? portsOf(meta, source, trigger)[0];
  });
}

function edgeTitle(doc: CampaignDoc, meta: EditorMeta, edge: DocEdge, port: string): string | null {
  const source = sourceOf(doc, edge);
  if (!source) return null;
  const trigger = source === doc.trigger;
  const several = (nodeType(meta, source, trigger)?.ports.length ?? 0) > 1;
  return several ? portTitle(meta, source, trigger, port) : null;
}

export function edgeKey(edge: DocEdge, port: string): string {
  return `${edge.source}:${port}->${edge.target}`;
}

export function edgeIds(doc: CampaignDoc, meta: EditorMeta): string[] {
  const ports = edgePorts(doc, meta);
  const used = new Map<string, number>();
  return doc.edges.map((edge, index) => {
    const key = edgeKey(edge, ports[index]);
    const count = used.get(key) ?? 0;
    used.set(key, count + 1);
    return count === 0 ? key : `${key}#${count}`;
  });
}

export function toCanvas(doc: CampaignDoc, meta: EditorMeta, selection: Selection = NO_SELECTION): Canvas {
  const positions = positionsOf(doc);
  const canvasNode = (node: DocNode, trigger: boolean): CanvasNode => ({
    id: node.id,
    type: "campaign",
    position: positions[node.id],
    data: { node, trigger, ports: portsOf(meta, node, trigger) },
    selected: selection.nodes.has(node.id),
    deletable: !trigger,
  });
  const ports = edgePorts(doc, meta);
  const ids = edgeIds(doc, meta);
  return {
    nodes: [canvasNode(doc.trigger, true), ...doc.nodes.map((node) => canvasNode(node, false))],
    edges: doc.edges.map((edge, index) => ({
      id: ids[index],
      source: edge.source,
      target: edge.target,
      sourceHandle: ports[index],
      targetHandle: INPUT_HANDLE,
      data: { edge, port: ports[index], title: edgeTitle(doc, meta, edge, ports[index]) },
      selected: selection.edges.has(ids[index]),
      className: `port-${ports[index]}`,
    })),
  };
}

/** The document the canvas shows: ``base`` supplies what the canvas does not hold (name, settings). */
export function toDocument(canvas: Canvas, base: Pick<CampaignDoc, "name" | "settings">): CampaignDoc {
  const trigger = canvas.nodes.find((node) => node.data.trigger);
  if (!trigger) throw new Error("the canvas has no trigger");
  const layout: Record<string, Position> = {};
  for (const node of canvas.nodes) layout[node.id] = { x: node.position.x, y: node.position.y };
  const doc: CampaignDoc = {
    name: base.name,
    trigger: trigger.data.node,
    nodes: canvas.nodes.filter((node) => !node.data.trigger).map((node) => node.data.node),
    edges: canvas.edges.map((edge) => edge.data!.edge),
    layout,
  };
  if (base.settings !== undefined) doc.settings = base.settings;
  return doc;
}
