/** Test fixtures: the editor metadata from the engine the editor is built with (written by `make frontend`
 * into .generated/), else the committed snapshot (a Python test keeps it equal to what the engine serves). */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CampaignDoc, DocNode } from "./doc";
import { buildMeta, defaultConfig, type Catalog, type EditorMeta } from "./meta";
import type { JsonSchema } from "./schema";

const generated = fileURLToPath(new URL("../../.generated/editor-meta.json", import.meta.url));
const snapshot = fileURLToPath(new URL("./fixtures/editor-meta.json", import.meta.url));

export function loadMeta(): EditorMeta {
  const path = existsSync(generated) ? generated : snapshot;
  const { schema, catalog } = JSON.parse(readFileSync(path, "utf8")) as { schema: JsonSchema; catalog: Catalog };
  return buildMeta(schema, catalog);
}

export function node(meta: EditorMeta, id: string, type: string): DocNode {
  return { id, type, title: null, config: defaultConfig(meta, meta.actions[type]) };
}

export function triggerDoc(meta: EditorMeta, nodes: DocNode[] = []): CampaignDoc {
  const type = meta.triggers.api_enrollment ?? Object.values(meta.triggers)[0];
  return {
    name: "Test",
    settings: { reentry_interval: null, attribution_days: 10 },
    trigger: { id: "trigger", type: type.type, title: null, config: defaultConfig(meta, type) },
    nodes,
    edges: [],
    layout: Object.fromEntries([["trigger", { x: 0, y: 0 }], ...nodes.map((n, i) => [n.id, { x: 280 * (i + 1), y: 0 }])]),
  };
}
