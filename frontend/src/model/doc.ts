/** The campaign document, exactly as the API serves it (GET /api/v1/campaigns/{id} → document). */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Config = { [key: string]: Json };

export interface DocNode {
  id: string;
  type: string;
  title?: string | null;
  config: Config;
}

export interface DocEdge {
  source: string;
  target: string;
  source_port?: string | null;
  /** On edges leaving check_email_status: the e-mail status that sends customers down this edge. */
  criteria?: string | null;
}

export interface Position {
  x: number;
  y: number;
}

export interface CampaignDoc {
  name: string;
  settings?: Config;
  trigger: DocNode;
  nodes: DocNode[];
  edges: DocEdge[];
  layout?: Record<string, Position>;
}

export const TRIGGER_KIND = "trigger";

export function isTrigger(doc: CampaignDoc, id: string): boolean {
  return doc.trigger.id === id;
}

export function findNode(doc: CampaignDoc, id: string): DocNode | undefined {
  return doc.trigger.id === id ? doc.trigger : doc.nodes.find((node) => node.id === id);
}

/** A node id unused in ``doc`` (nor in ``taken``), shaped like the API's ids: ``wait_2``. */
export function freshId(doc: CampaignDoc, type: string, taken: Set<string> = new Set()): string {
  const used = new Set([doc.trigger.id, ...doc.nodes.map((node) => node.id), ...taken]);
  const stem = type.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 56) || "node";
  for (let n = 1; ; n += 1) {
    const id = `${stem}_${n}`;
    if (!used.has(id)) return id;
  }
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}
