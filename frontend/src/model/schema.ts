/** Reading the campaign document's JSON Schema (GET /api/v1/schema/campaign): node types, their config
 * schemas and defaults. Nothing here knows a particular action: a new action in the engine's registry shows
 * up in the served schema, and so in the palette and its form. */
import type { Json } from "./doc";

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: Json[];
  const?: Json;
  default?: Json;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
  [extension: `x-${string}`]: Json | undefined;
}

/** Follow ``$ref`` (and a lone ``allOf`` wrapper) to the schema it names. */
export function deref(root: JsonSchema, schema: JsonSchema | undefined): JsonSchema {
  let current: JsonSchema = schema ?? {};
  for (let guard = 0; guard < 32; guard += 1) {
    if (current.$ref) {
      const name = current.$ref.replace(/^#\/\$defs\//, "");
      const target = root.$defs?.[name];
      if (!target) throw new Error(`schema reference ${current.$ref} is not defined`);
      const { $ref: _ignored, ...rest } = current;
      current = { ...target, ...rest };
      continue;
    }
    if (current.allOf && current.allOf.length === 1 && !current.properties) {
      const { allOf, ...rest } = current;
      current = { ...allOf[0], ...rest };
      continue;
    }
    return current;
  }
  throw new Error("schema references nest too deeply");
}

export function variantsOf(root: JsonSchema, schema: JsonSchema | undefined): JsonSchema[] {
  const resolved = deref(root, schema);
  return resolved.oneOf ?? resolved.anyOf ?? [];
}

/** ``anyOf: [X, {type: null}]`` → X and nullable; anything else unchanged. */
export function splitNullable(root: JsonSchema, schema: JsonSchema): { inner: JsonSchema; nullable: boolean } {
  const resolved = deref(root, schema);
  const options = resolved.anyOf ?? resolved.oneOf;
  if (options) {
    const nonNull = options.filter((option) => deref(root, option).type !== "null");
    if (nonNull.length === 1 && nonNull.length < options.length) {
      const { anyOf: _a, oneOf: _o, ...outer } = resolved;
      return { inner: { ...deref(root, nonNull[0]), ...stripped(outer) }, nullable: true };
    }
  }
  if (Array.isArray(resolved.type) && resolved.type.includes("null")) {
    const types = resolved.type.filter((type) => type !== "null");
    return { inner: { ...resolved, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { inner: resolved, nullable: false };
}

function stripped(outer: JsonSchema): JsonSchema {
  const { default: _d, ...rest } = outer;
  return rest;
}

export function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((type) => type !== "null");
  if (schema.type) return schema.type;
  if (schema.properties) return "object";
  return undefined;
}

/** The condition language's union: a oneOf whose members include ``{"all": [...]}`` and ``{"any": [...]}``. */
export function isConditionSchema(root: JsonSchema, schema: JsonSchema | undefined): boolean {
  const members = variantsOf(root, schema).map((member) => deref(root, member));
  const keys = new Set(members.flatMap((member) => Object.keys(member.properties ?? {})));
  return keys.has("all") && keys.has("any");
}

/** A fresh value for ``schema``: its default, else the emptiest value that has the right shape. */
export function defaultFor(root: JsonSchema, schema: JsonSchema | undefined): Json {
  const resolved = deref(root, schema);
  if (resolved.default !== undefined) return structuredClone(resolved.default);
  if (resolved.const !== undefined) return resolved.const;
  if (isConditionSchema(root, resolved)) return { all: [] };
  if (resolved.enum && resolved.enum.length > 0) return resolved.enum[0];
  const { inner, nullable } = splitNullable(root, resolved);
  if (nullable) return null;
  const options = inner.oneOf ?? inner.anyOf;
  if (options && options.length > 0) return defaultFor(root, options[0]);
  switch (typeOf(inner)) {
    case "object":
      return defaultObject(root, inner);
    case "array":
      return [];
    case "string":
      return "";
    case "integer":
    case "number":
      return inner.minimum ?? (inner.exclusiveMinimum !== undefined ? inner.exclusiveMinimum + 1 : 0);
    case "boolean":
      return false;
    default:
      return null;
  }
}

/** Every property with a default (so the editor's copy matches what the API stores) and every required one. */
export function defaultObject(root: JsonSchema, schema: JsonSchema): { [key: string]: Json } {
  const resolved = deref(root, schema);
  const required = new Set(resolved.required ?? []);
  const value: { [key: string]: Json } = {};
  for (const [name, property] of Object.entries(resolved.properties ?? {})) {
    const target = deref(root, property);
    if (target.default !== undefined || required.has(name)) value[name] = defaultFor(root, property);
  }
  return value;
}

/** "attribution_days" → "Attribution days" when a schema has no title of its own. */
export function humanize(name: string): string {
  const words = name.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase();
}

export function titleOf(schema: JsonSchema, name: string): string {
  const generated = name
    .split("_")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join(" ");
  // pydantic titles a field "Body Html" from its name; such a title adds nothing, so write it as a sentence
  return schema.title && schema.title !== generated ? schema.title : humanize(name);
}
