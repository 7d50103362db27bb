/** What the editor knows about node types: the JSON Schema's union members, enriched from GET /ui/catalog.json
 * with what the schema cannot say — the palette's groups, each action's group and its outputs with the words
 * they are labelled in (all read from the engine's registries, never typed here again). */
import type { Config, DocNode } from "./doc";
import { defaultObject, deref, variantsOf, type JsonSchema } from "./schema";

export type FieldType = "text" | "number" | "date" | "datetime" | "boolean";

/** An output of a node: its name in the document, and how the canvas labels it. */
export interface Port {
  id: string;
  title: string;
}

/** A section of the palette: its id (the actions' ``group``) and its title. */
export interface PaletteGroup {
  id: string;
  title: string;
}

export interface Catalog {
  /** In the order the palette shows them. */
  groups: PaletteGroup[];
  actions: Record<
    string,
    { title: string; group: string; ports: Port[]; ports_counted_by: string | null; edges_carry_criteria: boolean }
  >;
  triggers: Record<string, { title: string; kind: string; ports: Port[] }>;
  condition: {
    fields: Record<string, FieldType>;
    custom_fields?: string[];
    operators: Record<string, Record<string, string>>;
    /** How each field is named to a marketer (a custom field: the name it was declared with). */
    field_titles?: Record<string, string>;
    /** How each operator is worded ("is one of", "is in the last … days"). */
    operator_titles?: Record<string, string>;
  };
}

export interface NodeType {
  type: string;
  kind: "action" | "trigger";
  title: string;
  description?: string;
  /** The palette group of an action; null for a trigger. */
  group: string | null;
  config: JsonSchema;
  /** Every output the node may have, in order. */
  ports: Port[];
  /** The setting that counts the outputs (an A/B test's variants): a node has the first that many. */
  portsCountedBy: string | null;
  /** Whether each edge leaving the node carries its output as ``criteria`` (Check email status). */
  edgesCarryCriteria: boolean;
}

export interface EditorMeta {
  root: JsonSchema;
  actions: Record<string, NodeType>;
  triggers: Record<string, NodeType>;
  settings: JsonSchema | null;
  catalog: Catalog;
}

function nodeTypes(root: JsonSchema, union: JsonSchema | undefined, kind: NodeType["kind"], catalog: Catalog) {
  const found: Record<string, NodeType> = {};
  for (const member of variantsOf(root, union)) {
    const definition = deref(root, member);
    const type = deref(root, definition.properties?.type).const;
    if (typeof type !== "string") continue;
    const config = deref(root, definition.properties?.config);
    const served = kind === "action" ? catalog.actions[type] : catalog.triggers[type];
    if (!served) throw new Error(`the server's catalogue does not describe the ${kind} ${type} its schema has`);
    const action = kind === "action" ? catalog.actions[type] : null;
    found[type] = {
      type,
      kind,
      title: served.title,
      description: config.description,
      group: action?.group ?? null,
      config,
      ports: served.ports,
      portsCountedBy: action?.ports_counted_by ?? null,
      edgesCarryCriteria: action?.edges_carry_criteria ?? false,
    };
  }
  return found;
}

export function buildMeta(root: JsonSchema, catalog: Catalog): EditorMeta {
  const properties = deref(root, root).properties ?? {};
  const itemSchema = deref(root, properties.nodes).items;
  return {
    root,
    actions: nodeTypes(root, itemSchema, "action", catalog),
    triggers: nodeTypes(root, properties.trigger, "trigger", catalog),
    settings: properties.settings ? deref(root, properties.settings) : null,
    catalog,
  };
}

export function nodeType(meta: EditorMeta, node: DocNode, isTrigger: boolean): NodeType | undefined {
  return (isTrigger ? meta.triggers : meta.actions)[node.type];
}

/** The palette: the served groups in the served order, each with its action types. */
export function paletteGroups(meta: EditorMeta): [PaletteGroup, NodeType[]][] {
  const actions = Object.values(meta.actions);
  return meta.catalog.groups.map((group) => [group, actions.filter((type) => type.group === group.id)]);
}

/** How the palette titles a group, for a node's header. */
export function groupTitle(meta: EditorMeta, group: string): string | undefined {
  return meta.catalog.groups.find((served) => served.id === group)?.title;
}

export function defaultConfig(meta: EditorMeta, type: NodeType): Config {
  return defaultObject(meta.root, type.config);
}

/** Output ports of a node, in order: the served ones, or for a node whose outputs are counted by a setting (an
 * A/B test's variants) the first that many — edges leave such a node in that order. */
export function portsOf(meta: EditorMeta, node: DocNode, isTrigger: boolean): string[] {
  return outputsOf(meta, node, isTrigger).map((port) => port.id);
}

/** The outputs of a node with the words the canvas labels them in. */
export function outputsOf(meta: EditorMeta, node: DocNode, isTrigger: boolean): Port[] {
  const type = nodeType(meta, node, isTrigger);
  if (!type) return [];
  if (type.portsCountedBy === null) return type.ports;
  const count = node.config[type.portsCountedBy];
  return type.ports.slice(0, typeof count === "number" && Number.isInteger(count) ? Math.max(count, 1) : 1);
}

/** Whether a node's edges are its outputs in order (an A/B test: the k-th edge is variant k). */
export function isVariantNode(meta: EditorMeta, node: DocNode, isTrigger: boolean): boolean {
  return nodeType(meta, node, isTrigger)?.portsCountedBy != null;
}

/** How the canvas labels output ``port`` of a node: the served words, else the port's own name. */
export function portTitle(meta: EditorMeta, node: DocNode, isTrigger: boolean, port: string): string {
  return nodeType(meta, node, isTrigger)?.ports.find((served) => served.id === port)?.title ?? port;
}
