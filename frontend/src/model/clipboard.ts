/** Copy and paste of nodes: the selected actions with their settings and the edges between them. Pasting
 * gives every node a new id (and remaps the edges). The clip is kept in localStorage, so a campaign editor
 * in another tab of the same browser pastes it too. */
import { clone, freshId, type CampaignDoc, type DocEdge, type DocNode, type Position } from "./doc";
import { positionsOf } from "./graph";

export const CLIPBOARD_KEY = "tidings.editor.clipboard";
export const PASTE_OFFSET = 40;

export interface Clip {
  kind: "tidings.nodes";
  nodes: DocNode[];
  edges: DocEdge[];
  layout: Record<string, Position>;
}

/** The clip of the selected nodes; the trigger is never copied. */
export function copyNodes(doc: CampaignDoc, ids: Iterable<string>): Clip | null {
  const chosen = new Set(ids);
  const nodes = doc.nodes.filter((node) => chosen.has(node.id));
  if (nodes.length === 0) return null;
  const kept = new Set(nodes.map((node) => node.id));
  const positions = positionsOf(doc);
  return {
    kind: "tidings.nodes",
    nodes: clone(nodes),
    edges: clone(doc.edges.filter((edge) => kept.has(edge.source) && kept.has(edge.target))),
    layout: Object.fromEntries(nodes.map((node) => [node.id, { ...positions[node.id] }])),
  };
}

/** Paste ``clip`` into ``doc``: new ids, edges remapped, placed ``PASTE_OFFSET`` below-right of the copies
 * (or with their top-left corner at ``at``). Returns the new document and the new ids (to select them). */
export function pasteNodes(doc: CampaignDoc, clip: Clip, at?: Position): { doc: CampaignDoc; ids: string[] } {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const node of clip.nodes) {
    const id = freshId(doc, node.type, taken);
    taken.add(id);
    ids.set(node.id, id);
  }
  const corner = {
    x: Math.min(...clip.nodes.map((node) => clip.layout[node.id]?.x ?? 0)),
    y: Math.min(...clip.nodes.map((node) => clip.layout[node.id]?.y ?? 0)),
  };
  const shift = at ? { x: at.x - corner.x, y: at.y - corner.y } : { x: PASTE_OFFSET, y: PASTE_OFFSET };
  const layout = { ...positionsOf(doc) };
  const nodes = clip.nodes.map((node) => {
    const id = ids.get(node.id)!;
    const from = clip.layout[node.id] ?? corner;
    layout[id] = { x: Math.round(from.x + shift.x), y: Math.round(from.y + shift.y) };
    return { ...clone(node), id };
  });
  const edges = clip.edges.map((edge) => ({ ...clone(edge), source: ids.get(edge.source)!, target: ids.get(edge.target)! }));
  return {
    doc: { ...doc, nodes: [...doc.nodes, ...nodes], edges: [...doc.edges, ...edges], layout },
    ids: nodes.map((node) => node.id),
  };
}

/** The same clip moved by the paste offset, so that pasting again does not stack copies on one another. */
export function shifted(clip: Clip): Clip {
  const layout = Object.fromEntries(
    Object.entries(clip.layout).map(([id, p]) => [id, { x: p.x + PASTE_OFFSET, y: p.y + PASTE_OFFSET }]),
  );
  return { ...clip, layout };
}

export function isClip(value: unknown): value is Clip {
  const clip = value as Clip | null;
  return !!clip && clip.kind === "tidings.nodes" && Array.isArray(clip.nodes) && Array.isArray(clip.edges);
}

export interface ClipStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function writeClip(storage: ClipStorage, clip: Clip): void {
  storage.setItem(CLIPBOARD_KEY, JSON.stringify(clip));
}

export function readClip(storage: ClipStorage): Clip | null {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(CLIPBOARD_KEY) ?? "null");
    return isClip(parsed) ? parsed : null;
  } catch {
    return null;
  }
}
