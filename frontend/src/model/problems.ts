/** A refused save in a marketer's words: each problem names its node by the title typed for it (else its type),
 * the setting by its label in the form, and says what to change instead of quoting the validator. */
import { findNode, type CampaignDoc } from "./doc";
import { nodeType, type EditorMeta } from "./meta";
import { deref, splitNullable, titleOf, humanize, type JsonSchema } from "./schema";
import type { Problem } from "./store";

const RULES: [RegExp, (...groups: string[]) => string][] = [
  [/^String should have at least 1 character/, () => "fill it in"],
  [/^Field required/, () => "fill it in"],
  [/^String should have at least (\d+) characters/, (n) => `write at least ${n} characters`],
  [/^String should have at most (\d+) characters?/, (n) => `shorten it to ${n} characters or fewer`],
  [/^Input should be greater than or equal to (\S+)/, (n) => `use ${n} or more`],
  [/^Input should be greater than (\S+)/, (n) => `use more than ${n}`],
  [/^Input should be less than or equal to (\S+)/, (n) => `use ${n} or less`],
  [/^Input should be less than (\S+)/, (n) => `use less than ${n}`],
  [/^Input should be a valid integer/, () => "use a whole number"],
  [/^Input should be a valid number/, () => "use a number"],
  [/^Input should be a valid date/, () => "pick a date"],
  [/^Input should be (.+)$/, (choices) => `choose ${choices.replace(/'/g, "“").replace(/“(\s|,|$)/g, "”$1")}`],
  [/^List should have at least (\d+) items?/, (n) => `add at least ${n}`],
  [/^Extra inputs are not permitted/, () => "remove it: this version of Tidings does not know it"],
  [/^String should match pattern/, () => "check the format"],
  [/^Value error, (.*)$/, (rest) => rest],
];

/** The validator's message as what to change ("String should have at least 1 character" → "fill it in"). */
export function plainMessage(message: string): string {
  for (const [pattern, say] of RULES) {
    const match = pattern.exec(message);
    if (match) return say(...match.slice(1));
  }
  return message;
}

/** The label a node's form shows for a setting at ``field`` ("config.utm.source" → "Source"). */
export function fieldLabel(meta: EditorMeta, doc: CampaignDoc, nodeId: string | null, field: string): string {
  const node = nodeId === null ? null : findNode(doc, nodeId);
  const parts = field.split(/\.|\[(\d+)\]/).filter((part) => part !== undefined && part !== "");
  let schema: JsonSchema | null = null;
  if (node) schema = nodeType(meta, node, node === doc.trigger)?.config ?? null;
  else if (parts[0] === "settings") schema = meta.settings;
  if (parts[0] === "config" || parts[0] === "settings") parts.shift();
  else if (node) return humanize(field);
  let label = humanize(parts.at(-1) ?? field);
  for (const part of parts) {
    if (!schema) break;
    const inner = splitNullable(meta.root, deref(meta.root, schema)).inner;
    if (/^\d+$/.test(part)) {
      schema = inner.items ?? null;
      continue;
    }
    const property = inner.properties?.[part];
    if (!property) break;
    label = titleOf(deref(meta.root, property), part);
    schema = property;
  }
  return label;
}

/** The node as the marketer knows it: the title typed for it, with its type; else its type. */
export function nodeLabel(meta: EditorMeta, doc: CampaignDoc, nodeId: string): string {
  const node = findNode(doc, nodeId);
  if (!node) return nodeId;
  const type = nodeType(meta, node, node === doc.trigger)?.title ?? node.type;
  const kind = node === doc.trigger ? `Trigger (${type})` : type;
  return node.title ? `“${node.title}” (${kind})` : kind;
}

/** One problem as a sentence: where, which setting, what to change. */
export function describeProblem(meta: EditorMeta, doc: CampaignDoc, problem: Problem): string {
  const where = problem.node ? nodeLabel(meta, doc, problem.node) : "The campaign";
  const setting = problem.field ? `: ${fieldLabel(meta, doc, problem.node, problem.field)}` : "";
  const message = plainMessage(problem.message);
  return `${where}${setting} — ${message.charAt(0).toLowerCase()}${message.slice(1)}${/[.!?]$/.test(message) ? "" : "."}`;
}
