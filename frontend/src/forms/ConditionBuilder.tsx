/** The condition language as nested groups: "all of" / "any of" / "not", and leaves. A customer-field leaf
 * offers the fields and the operators that fit each field's type (from the catalogue); every other kind of
 * leaf the schema's condition union has (subscription, and whatever the engine adds) gets a generated form. */
import type { Json } from "../model/doc";
import { defaultObject, deref, humanize, variantsOf, type JsonSchema } from "../model/schema";
import type { FieldType } from "../model/meta";
import { isoToLocal, localToIso } from "../lib/time";
import { errorsAt, useForm } from "./FormContext";
import { ObjectFields } from "./SchemaForm";

type Obj = { [key: string]: Json };
const GROUP_KEYS = ["all", "any", "not"];

interface LeafKind {
  key: string;
  title: string;
  schema: JsonSchema;
}

function leafKinds(root: JsonSchema, union: JsonSchema): LeafKind[] {
  return variantsOf(root, union)
    .map((member) => deref(root, member))
    .map((member) => {
      const keys = Object.keys(member.properties ?? {});
      const key = member.required?.find((name) => name !== "op") ?? keys[0];
      return { key, title: member.description?.split(/[.:]/)[0] ?? member.title ?? key, schema: member };
    })
    .filter((kind) => kind.key && !GROUP_KEYS.includes(kind.key));
}

function kindOf(value: Obj): string {
  return [...GROUP_KEYS, "field"].find((key) => key in value) ?? Object.keys(value).find((key) => key !== "op") ?? "field";
}

export function ConditionBuilder({ schema, value, path, onChange }: { schema: JsonSchema; value: Obj; path: string; onChange: (next: Json) => void }) {
  const env = useForm();
  const problems = errorsAt(env, path, true);
  return (
    <div className="condition-builder" data-condition={path}>
      <ConditionNode union={schema} value={value} path={path} onChange={onChange} />
      {problems.map((message, index) => (
        <div key={index} className="field-error" role="alert">
          {message}
        </div>
      ))}
    </div>
  );
}

function ConditionNode(props: { union: JsonSchema; value: Obj; path: string; onChange: (next: Obj) => void; onRemove?: () => void }) {
  const { union, value, path, onChange, onRemove } = props;
  const env = useForm();
  const kind = kindOf(value);
  const kinds = leafKinds(env.meta.root, union);
  const remove = onRemove && (
    <button type="button" className="link remove" onClick={onRemove} aria-label="Remove condition">
      ✕
    </button>
  );

  if (kind === "not") {
    return (
      <div className="cond-not">
        <span className="cond-word">not</span>
        <ConditionNode union={union} value={value.not as Obj} path={`${path}.not`} onChange={(next) => onChange({ not: next })} />
        <button type="button" className="link" onClick={() => onChange(value.not as Obj)}>
          Remove “not”
        </button>
        {remove}
      </div>
    );
  }

  if (kind === "all" || kind === "any") {
    const children = (value[kind] as Obj[]) ?? [];
    const setChildren = (next: Obj[]) => onChange({ [kind]: next });
    const add = (what: string) => {
      if (what === "all" || what === "any") return setChildren([...children, { [what === "all" ? "all" : "any"]: [] }]);
      const leaf = kinds.find((k) => k.key === what);
      if (leaf) setChildren([...children, defaultLeaf(leaf, env.meta.catalog.condition)]);
    };
    return (
      <div className="cond-group" data-cond-group={path}>
        <div className="cond-head">
          <select aria-label="Combine" value={kind} onChange={(e) => onChange({ [e.target.value]: children })}>
            <option value="all">All of these hold</option>
            <option value="any">Any of these holds</option>
          </select>
          <button type="button" className="link" onClick={() => onChange({ not: value })}>
            Negate
          </button>
          {remove}
        </div>
        {children.length === 0 && <div className="muted">{kind === "all" ? "No conditions: everyone matches." : "No conditions: no one matches."}</div>}
        {children.map((child, index) => (
          <ConditionNode
            key={index}
            union={union}
            value={child}
            path={`${path}.${kind}[${index}]`}
            onChange={(next) => setChildren(children.map((old, i) => (i === index ? next : old)))}
            onRemove={() => setChildren(children.filter((_, i) => i !== index))}
          />
        ))}
        <select aria-label="Add condition" className="cond-add" value="" onChange={(e) => add(e.target.value)}>
          <option value="">+ Add condition…</option>
          {kinds.map((k) => (
            <option key={k.key} value={k.key}>
              {k.key === "field" ? "Customer field" : k.title}
            </option>
          ))}
          <option value="any">Group: any of</option>
          <option value="all">Group: all of</option>
        </select>
      </div>
    );
  }

  if (kind === "field") {
    return (
      <div className="cond-leaf">
        <FieldLeaf value={value} path={path} onChange={onChange} />
        {remove}
      </div>
    );
  }

  const leaf = kinds.find((k) => k.key === kind);
  return (
    <div className="cond-leaf generic">
      {leaf ? <ObjectFields schema={leaf.schema} value={value} path={path} onChange={onChange} /> : <code>{JSON.stringify(value)}</code>}
      {remove}
    </div>
  );
}

type Vocabulary = { fields: Record<string, FieldType>; operators: Record<string, Record<string, string>> };

function defaultLeaf(kind: LeafKind, vocabulary: Vocabulary): Obj {
  const base = defaultObject({ $defs: {} }, kind.schema);
  if (kind.key !== "field") return base;
  const field = Object.keys(vocabulary.fields)[0] ?? "";
  const type = vocabulary.fields[field];
  const op = Object.keys(vocabulary.operators[type] ?? {})[0] ?? "equals";
  return { field, op, value: emptyValue(vocabulary.operators[type]?.[op] ?? "scalar", type) };
}

function emptyValue(shape: string, type: FieldType | undefined): Json {
  switch (shape) {
    case "none":
      return null;
    case "list":
      return [];
    case "pair":
      return type === "number" ? [0, 0] : ["", ""];
    case "days":
      return 0;
    default:
      return type === "number" ? 0 : "";
  }
}

function FieldLeaf({ value, path, onChange }: { value: Obj; path: string; onChange: (next: Obj) => void }) {
  const env = useForm();
  const { fields, operators, field_titles: fieldTitles = {}, operator_titles: opTitles = {} } = env.meta.catalog.condition;
  const field = String(value.field ?? "");
  const type = fields[field] ?? "text";
  const ops = operators[type] ?? {};
  const op = String(value.op ?? "");
  const shape = ops[op] ?? "scalar";
  const rest = (next: Obj): Obj => {
    const copy = { ...value, ...next };
    if (!field.startsWith("attributes.") && copy.type === null) delete copy.type;
    return copy;
  };

  return (
    <span className="field-leaf">
      {Object.keys(fields).length ? (
        <select
          aria-label="Field"
          name={`${path}.field`}
          value={field}
          onChange={(e) => {
            const nextType = fields[e.target.value] ?? "text";
            const nextOps = operators[nextType] ?? {};
            const nextOp = op in nextOps ? op : (Object.keys(nextOps)[0] ?? "");
            const keep = nextType === type && nextOp === op;
            onChange(rest({ field: e.target.value, op: nextOp, value: keep ? value.value : emptyValue(nextOps[nextOp] ?? "scalar", nextType) }));
          }}
        >
          {!(field in fields) && <option value={field}>{field || "—"}</option>}
          {Object.keys(fields).map((name) => (
            <option key={name} value={name}>
              {fieldTitles[name] ?? humanize(name.replace(/^attributes\./, ""))}
            </option>
          ))}
        </select>
      ) : (
        <input aria-label="Field" name={`${path}.field`} value={field} onChange={(e) => onChange(rest({ field: e.target.value }))} />
      )}
      <select
        aria-label="Operator"
        name={`${path}.op`}
        value={op}
        onChange={(e) => {
          const nextShape = ops[e.target.value] ?? "scalar";
          onChange(rest({ op: e.target.value, value: nextShape === shape ? value.value : emptyValue(nextShape, type) }));
        }}
      >
        {!(op in ops) && <option value={op}>{op || "—"}</option>}
        {Object.keys(ops).map((name) => (
          <option key={name} value={name}>
            {opTitles[name] ?? name.replace(/_/g, " ")}
          </option>
        ))}
      </select>
      <LeafValue type={type} shape={shape} value={value.value ?? null} path={`${path}.value`} onChange={(next) => onChange(rest({ value: next }))} />
    </span>
  );
}

function LeafValue({ type, shape, value, path, onChange }: { type: FieldType; shape: string; value: Json; path: string; onChange: (next: Json) => void }) {
  const { timezone } = useForm();
  if (shape === "none") return null;
  if (shape === "days") {
    return (
      <span className="with-hint">
        <input aria-label="Days" name={path} type="number" min={0} step={1} value={typeof value === "number" ? value : ""} onChange={(e) => onChange(e.target.value === "" ? 0 : Number(e.target.value))} />
        <span className="tz">days</span>
      </span>
    );
  }
  if (shape === "list") {
    const items = Array.isArray(value) ? value : [];
    return (
      <input
        aria-label="Values"
        name={path}
        placeholder="a, b, c"
        defaultValue={items.map(String).join(", ")}
        onChange={(e) =>
          onChange(
            e.target.value
              .split(",")
              .map((part) => part.trim())
              .filter(Boolean)
              .map((part) => (type === "number" ? Number(part) : part)),
          )
        }
      />
    );
  }
  if (shape === "pair") {
    const pair = Array.isArray(value) && value.length === 2 ? value : [null, null];
    return (
      <span className="pair">
        <Scalar type={type} value={pair[0]} path={`${path}[0]`} timezone={timezone} onChange={(next) => onChange([next, pair[1]])} />
        <span>and</span>
        <Scalar type={type} value={pair[1]} path={`${path}[1]`} timezone={timezone} onChange={(next) => onChange([pair[0], next])} />
      </span>
    );
  }
  return <Scalar type={type} value={value} path={path} timezone={timezone} onChange={onChange} />;
}

function Scalar({ type, value, path, timezone, onChange }: { type: FieldType; value: Json; path: string; timezone: string; onChange: (next: Json) => void }) {
  switch (type) {
    case "number":
      return <input aria-label="Value" name={path} type="number" step="any" value={typeof value === "number" ? value : ""} onChange={(e) => onChange(e.target.value === "" ? null : Number(e.target.value))} />;
    case "date":
      return <input aria-label="Value" name={path} type="date" value={typeof value === "string" ? value.slice(0, 10) : ""} onChange={(e) => onChange(e.target.value)} />;
    case "datetime":
      return (
        <span className="with-hint">
          <input
            aria-label="Value"
            name={path}
            type="datetime-local"
            value={typeof value === "string" && value ? isoToLocal(value, timezone) : ""}
            onChange={(e) => onChange(e.target.value ? localToIso(e.target.value, timezone) : "")}
          />
          <span className="tz">{timezone}</span>
        </span>
      );
    default:
      return <input aria-label="Value" name={path} type="text" value={typeof value === "string" ? value : value === null ? "" : String(value)} onChange={(e) => onChange(e.target.value)} />;
  }
}
