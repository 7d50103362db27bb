/** Edits of the document. Each takes a document and returns a new one (the old one goes to the undo stack). */
import { clone, findNode, freshId, type CampaignDoc, type Config, type DocEdge, type DocNode, type Position } from "./doc";
import { defaultConfig, isVariantNode, nodeType, outputsOf, portsOf, type EditorMeta, type NodeType, type Port } from "./meta";
import { edgeIds, edgePorts, positionsOf } from "./graph";
import { layeredLayout } from "./layout";

export function newDocument(meta: EditorMeta, name: string): CampaignDoc {
  const trigger = defaultTrigger(meta);
  return {
    name,
    trigger: { id: "trigger", type: trigger.type, title: null, config: defaultConfig(meta, trigger) },
    nodes: [],
    edges: [],
    layout: { trigger: { x: 0, y: 0 } },
  };
}

/** Enrolment by API needs no settings, so a new campaign is valid from the start; else the first trigger. */
export function defaultTrigger(meta: EditorMeta): NodeType {
  const types = Object.values(meta.triggers);
  if (types.length === 0) throw new Error("the campaign schema lists no trigger types");
  return meta.triggers.api_enrollment ?? types.find((type) => !(type.config.required ?? []).length) ?? types[0];
}

export function addNode(doc: CampaignDoc, meta: EditorMeta, type: string, at: Position): { doc: CampaignDoc; id: string } {
  const action = meta.actions[type];
  if (!action) throw new Error(`unknown action type ${type}`);
  const id = freshId(doc, type);
  const node: DocNode = { id, type, title: null, config: defaultConfig(meta, action) };
  return {
    doc: { ...doc, nodes: [...doc.nodes, node], layout: { ...positionsOf(doc), [id]: roundPosition(at) } },
    id,
  };
}

export function moveNodes(doc: CampaignDoc, moves: Record<string, Position>): CampaignDoc {
  const layout = { ...positionsOf(doc) };
  for (const [id, position] of Object.entries(moves)) if (layout[id]) layout[id] = roundPosition(position);
  return { ...doc, layout };
}

function roundPosition(position: Position): Position {
  return { x: Math.round(position.x), y: Math.round(position.y) };
}

/** Remove nodes (never the trigger) with their edges, and edges by canvas id. */
export function deleteElements(
  doc: CampaignDoc,
  meta: EditorMeta,
  nodeIds: Iterable<string>,
  edgeCanvasIds: Iterable<string> = [],
): CampaignDoc {
  const nodes = new Set([...nodeIds].filter((id) => id !== doc.trigger.id));
  const edges = new Set(edgeCanvasIds);
  if (nodes.size === 0 && edges.size === 0) return doc;
  const ids = edgeIds(doc, meta);
  const layout = { ...(doc.layout ?? {}) };
  for (const id of nodes) delete layout[id];
  return {
    ...doc,
    nodes: doc.nodes.filter((node) => !nodes.has(node.id)),
    edges: doc.edges.filter(
      (edge, index) => !nodes.has(edge.source) && !nodes.has(edge.target) && !edges.has(ids[index]),
    ),
    layout,
  };
}

export interface Connection {
  source: string;
  target: string;
  sourceHandle?: string | null;
}

/** Why a connection cannot be made, or null when it can. */
export function connectionProblem(doc: CampaignDoc, meta: EditorMeta, connection: Connection): string | null {
  const source = findNode(doc, connection.source);
  const target = findNode(doc, connection.target);
  if (!source || !target) return "both ends must be nodes of this campaign";
  if (target === doc.trigger) return "nothing may lead into the trigger";
  if (source === target) return "a node cannot lead to itself";
  const trigger = source === doc.trigger;
  const port = connection.sourceHandle ?? portsOf(meta, source, trigger)[0];
  if (isVariantNode(meta, source, trigger)) {
    const used = doc.edges.filter((edge) => edge.source === source.id).length;
    const outputs = outputsOf(meta, source, trigger);
    if (used >= outputs.length) return "every variant already has its branch";
    if (port !== outputs[used].id) return `connect ${outputs[used].title} first: variants are branches in order`;
  } else if (!portsOf(meta, source, trigger).includes(port)) {
    return `no output ${port}`;
  }
  const ports = edgePorts(doc, meta);
  if (doc.edges.some((edge, index) => edge.source === source.id && edge.target === target.id && ports[index] === port))
    return "these nodes are already connected";
  if (reaches(doc, target.id, source.id)) return "this connection would make a loop";
  return null;
}

/** The first output of ``source`` that leads nowhere yet and may lead to ``target`` (null: none). */
export function freePort(doc: CampaignDoc, meta: EditorMeta, source: string, target: string): string | null {
  const node = findNode(doc, source);
  if (!node) return null;
  const ports = edgePorts(doc, meta);
  const used = new Set(doc.edges.map((edge, index) => (edge.source === source ? ports[index] : null)));
  const candidates = portsOf(meta, node, node === doc.trigger).filter((port) => !used.has(port));
  return candidates.find((port) => connectionProblem(doc, meta, { source, target, sourceHandle: port }) === null) ?? null;
}

function reaches(doc: CampaignDoc, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === to) return true;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const edge of doc.edges) if (edge.source === id) stack.push(edge.target);
  }
  return false;
}

export function connect(doc: CampaignDoc, meta: EditorMeta, connection: Connection): CampaignDoc {
  if (connectionProblem(doc, meta, connection) !== null) return doc;
  const source = findNode(doc, connection.source)!;
  const trigger = source === doc.trigger;
  const ports = portsOf(meta, source, trigger);
  const named = ports.length > 1 && !isVariantNode(meta, source, trigger);
  const port = named ? (connection.sourceHandle ?? ports[0]) : null;
  const edge: DocEdge = { source: connection.source, target: connection.target, source_port: port };
  // spec 2.18: on a node whose edges carry a criterion (Check email status), the edge's criterion is its port
  if (port !== null && nodeType(meta, source, trigger)?.edgesCarryCriteria) edge.criteria = port;
  return { ...doc, edges: [...doc.edges, edge] };
}

/** Whether a canvas edge leaves a node whose edges carry a criterion (its outputs are the statuses to choose). */
export function criteriaOf(doc: CampaignDoc, meta: EditorMeta, edgeId: string): { current: string; choices: Port[] } | null {
  const index = edgeIds(doc, meta).indexOf(edgeId);
  if (index < 0) return null;
  const source = findNode(doc, doc.edges[index].source);
  if (!source || source === doc.trigger || !nodeType(meta, source, false)?.edgesCarryCriteria) return null;
  return { current: edgePorts(doc, meta)[index], choices: outputsOf(meta, source, false) };
}

/** The same line, leaving its criteria node on another status (spec 2.18: criteria are edited on the edge). */
export function setCriterion(doc: CampaignDoc, meta: EditorMeta, edgeId: string, criterion: string): CampaignDoc {
  const criteria = criteriaOf(doc, meta, edgeId);
  if (!criteria || criteria.current === criterion || !criteria.choices.some((choice) => choice.id === criterion)) return doc;
  const index = edgeIds(doc, meta).indexOf(edgeId);
  const edge = doc.edges[index];
  const others = { ...doc, edges: doc.edges.filter((_, other) => other !== index) };
  if (connectionProblem(others, meta, { source: edge.source, target: edge.target, sourceHandle: criterion }) !== null)
    return doc;
  const changed: DocEdge = { ...edge, source_port: criterion, criteria: criterion };
  return { ...doc, edges: doc.edges.map((other, at) => (at === index ? changed : other)) };
}

/** Replace a node's title and settings (and, for the trigger, its type). */
export function updateNode(doc: CampaignDoc, meta: EditorMeta, id: string, next: DocNode): CampaignDoc {
  if (id === doc.trigger.id) return { ...doc, trigger: { ...next, id } };
  const before = doc.nodes.find((node) => node.id === id);
  if (!before) return doc;
  let edges = doc.edges;
  if (isVariantNode(meta, next, false)) {
    // fewer variants: the branches past the last variant go (undo brings them back)
    const count = portsOf(meta, next, false).length;
    let kept = 0;
    edges = edges.filter((edge) => edge.source !== id || kept++ < count);
  }
  return { ...doc, nodes: doc.nodes.map((node) => (node.id === id ? { ...next, id } : node)), edges };
}

/** A different trigger type: its settings start from the new type's defaults. */
export function changeTriggerType(doc: CampaignDoc, meta: EditorMeta, type: string): CampaignDoc {
  const triggerType = meta.triggers[type];
  if (!triggerType || doc.trigger.type === type) return doc;
  return { ...doc, trigger: { ...doc.trigger, type, config: defaultConfig(meta, triggerType) } };
}

export function setNameAndSettings(doc: CampaignDoc, name: string, settings: Config | undefined): CampaignDoc {
  const next = { ...doc, name };
  if (settings !== undefined) next.settings = settings;
  return next;
}

export function autoLayout(doc: CampaignDoc): CampaignDoc {
  return { ...doc, layout: layeredLayout(doc) };
}

export { clone };
