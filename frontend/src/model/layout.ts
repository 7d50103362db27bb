/** A simple layered layout, left to right: a node's layer is its longest path from the trigger; inside a
 * layer nodes are ordered by the mean position of their parents (one barycentre sweep), so branches stay
 * apart and merges sit between the branches they join. */
import type { CampaignDoc, Position } from "./doc";

export const LAYER_GAP = 280;
export const ROW_GAP = 130;

export function layeredLayout(doc: CampaignDoc): Record<string, Position> {
  const ids = [doc.trigger.id, ...doc.nodes.map((node) => node.id)];
  const known = new Set(ids);
  const parents = new Map<string, string[]>(ids.map((id) => [id, []]));
  const children = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const edge of doc.edges) {
    if (!known.has(edge.source) || !known.has(edge.target) || edge.source === edge.target) continue;
    children.get(edge.source)!.push(edge.target);
    parents.get(edge.target)!.push(edge.source);
  }

  // Kahn's order; nodes on a cycle (an invalid graph being edited) are appended in document order.
  const indegree = new Map(ids.map((id) => [id, parents.get(id)!.length]));
  const queue = ids.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  while (queue.length > 0) {
    const id = queue.shift()!;
    order.push(id);
    for (const child of children.get(id)!) {
      indegree.set(child, indegree.get(child)! - 1);
      if (indegree.get(child) === 0) queue.push(child);
    }
  }
  for (const id of ids) if (!order.includes(id)) order.push(id);

  const layer = new Map<string, number>();
  for (const id of order) {
    const fromParents = parents.get(id)!.map((parent) => (layer.get(parent) ?? -1) + 1);
    layer.set(id, Math.max(id === doc.trigger.id ? 0 : 1, ...fromParents));
  }
  if ((layer.get(doc.trigger.id) ?? 0) !== 0) layer.set(doc.trigger.id, 0);

  const layers: string[][] = [];
  for (const id of order) (layers[layer.get(id)!] ??= []).push(id);

  const row = new Map<string, number>();
  const positions: Record<string, Position> = {};
  layers.forEach((members, index) => {
    const keyed = members.map((id, place) => {
      const placed = parents.get(id)!.filter((parent) => row.has(parent));
      const centre = placed.length
        ? placed.reduce((sum, parent) => sum + row.get(parent)! + portOffset(doc, parent, id), 0) / placed.length
        : place;
      return { id, centre, place };
    });
    keyed.sort((a, b) => a.centre - b.centre || a.place - b.place);
    const offset = (keyed.length - 1) / 2;
    keyed.forEach(({ id }, place) => {
      row.set(id, place - offset);
      positions[id] = { x: index * LAYER_GAP, y: Math.round((place - offset) * ROW_GAP) };
    });
  });
  return positions;
}

/** Children of later ports (``no`` after ``yes``, variant 2 after variant 1) sort below earlier ones. */
function portOffset(doc: CampaignDoc, parent: string, child: string): number {
  const out = doc.edges.filter((edge) => edge.source === parent);
  const index = out.findIndex((edge) => edge.target === child);
  return out.length > 1 ? (index - (out.length - 1) / 2) * 0.01 : 0;
}
