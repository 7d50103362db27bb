/** What the editor knows about node types: the JSON Schema's union members, enriched with the palette group
 * and output ports from GET /ui/catalog.json (both read from the engine's registries). */
import type { Config, DocNode, Json } from "./doc";
import { defaultObject, deref, variantsOf, type JsonSchema } from "./schema";

export type FieldType = "text" | "number" | "date" | "datetime" | "boolean";

export interface Catalog {
  actions: Record<string, { title: string; group: string; ports: string[] | null }>;
  triggers: Record<string, { title: string; kind: string }>;
  condition: {
    fields: Record<string, FieldType>;
    custom_fields?: string[];
    operators: Record<string, Record<string, string>>;
  };
}

export interface NodeType {
  type: string;
  kind: "action" | "trigger";
  title: string;
  description?: string;
  group: string;
  config: JsonSchema;
  /** Fixed outputs; null when they depend on the settings (one per A/B variant). */
  ports: string[] | null;
}

export interface EditorMeta {
  root: JsonSchema;
  actions: Record<string, NodeType>;
  triggers: Record<string, NodeType>;
  settings: JsonSchema | null;
  catalog: Catalog;
}

/** Palette groups in the order the palette shows them; a group the engine adds later follows these. */
export const GROUPS = ["flow", "audience", "messages", "loyalty", "limits"] as const;

export const EMPTY_CATALOG: Catalog = { actions: {}, triggers: {}, condition: { fields: {}, operators: {} } };

function nodeTypes(root: JsonSchema, union: JsonSchema | undefined, kind: NodeType["kind"], catalog: Catalog) {
  const found: Record<string, NodeType> = {};
  for (const member of variantsOf(root, union)) {
    const definition = deref(root, member);
    const type = deref(root, definition.properties?.type).const;
    if (typeof type !== "string") continue;
    const config = deref(root, definition.properties?.config);
    const known = kind === "action" ? catalog.actions[type] : catalog.triggers[type];
    const portsExtra = definition["x-ports"];
    found[type] = {
      type,
      kind,
      title: known?.title ?? config.title ?? type,
      description: config.description,
      group: String(definition["x-group"] ?? (known && "group" in known ? known.group : "other")),
      config,
      ports: Array.isArray(portsExtra)
        ? portsExtra.map(String)
        : kind === "trigger"
          ? ["out"]
          : known && "ports" in known
            ? known.ports
            : ["out"],
    };
  }
  return found;
}

export function buildMeta(root: JsonSchema, catalog: Catalog = EMPTY_CATALOG): EditorMeta {
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

/** The palette: action types by group, groups in ``GROUPS`` order. */
export function paletteGroups(meta: EditorMeta): [string, NodeType[]][] {
  const groups = new Map<string, NodeType[]>();
  for (const group of GROUPS) groups.set(group, []);
  for (const type of Object.values(meta.actions)) {
    if (!groups.has(type.group)) groups.set(type.group, []);
    groups.get(type.group)!.push(type);
  }
  return [...groups.entries()].filter(([, types]) => types.length > 0);
}

export function defaultConfig(meta: EditorMeta, type: NodeType): Config {
  return defaultObject(meta.root, type.config);
}

/** Output ports of a node. Fixed ports come from the catalogue; a node whose outputs depend on its settings
 * has one output per entry of its ``variants`` setting (a list, or a count) — edges leave it in that order. */
export function portsOf(meta: EditorMeta, node: DocNode, isTrigger: boolean): string[] {
  const type = nodeType(meta, node, isTrigger);
  if (type?.ports) return type.ports;
  const count = variantCount(node.config);
  return count === null ? ["out"] : Array.from({ length: count }, (_, index) => variantPort(index));
}

export function isVariantNode(meta: EditorMeta, node: DocNode, isTrigger: boolean): boolean {
  const type = nodeType(meta, node, isTrigger);
  return !!type && type.ports === null && variantCount(node.config) !== null;
}

export function variantPort(index: number): string {
  return `variant-${index + 1}`;
}

/** How an output is named on the canvas: the statuses of Check email status in words, variants by number. */
const PORT_TITLES: Record<string, string> = {
  yes: "yes",
  no: "no",
  undelivered: "not delivered",
  delivered_not_read: "delivered, not read",
  read_no_click: "read, no click",
  read_clicked: "read, clicked",
};

export function portTitle(port: string): string {
  const variant = /^variant-(\d+)$/.exec(port);
  return variant ? `variant ${variant[1]}` : (PORT_TITLES[port] ?? port);
}

function variantCount(config: Config): number | null {
  const variants: Json | undefined = config.variants;
  if (Array.isArray(variants)) return Math.max(variants.length, 1);
  if (typeof variants === "number" && Number.isInteger(variants)) return Math.max(Math.min(variants, 16), 1);
  return null;
}
