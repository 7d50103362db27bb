/** A form generated from a JSON Schema: one field per property, chosen by type and format, with purpose-built
 * widgets where a plain input would be poor (conditions, durations, dates and times in the account time zone,
 * templates (settings marked ``x-template``), lists of choices). */
import type { Json } from "../model/doc";
import { defaultFor, deref, humanize, isConditionSchema, splitNullable, titleOf, typeOf, type JsonSchema } from "../model/schema";
import { ConditionBuilder } from "./ConditionBuilder";
import { errorsAt, useForm } from "./FormContext";
import { AnyValueInput, DateTimeInput, DurationInput, ReferencePicker, TemplateInput, TimeInput } from "./widgets";

type Obj = { [key: string]: Json };

export function ObjectFields({ schema, value, path, onChange }: { schema: JsonSchema; value: Obj; path: string; onChange: (next: Obj) => void }) {
  const env = useForm();
  const resolved = deref(env.meta.root, schema);
  const required = new Set(resolved.required ?? []);
  const entries = Object.entries(resolved.properties ?? {});
  if (entries.length === 0) return <p className="muted">No settings.</p>;
  return (
    <>
      {entries.map(([name, property]) => (
        <Field
          key={name}
          name={name}
          schema={property}
          required={required.has(name)}
          value={value[name]}
          path={path ? `${path}.${name}` : name}
          onChange={(next) => {
            const copy = { ...value };
            if (next === undefined) delete copy[name];
            else copy[name] = next;
            onChange(copy);
          }}
        />
      ))}
    </>
  );
}

interface FieldProps {
  name: string;
  schema: JsonSchema;
  value: Json | undefined;
  path: string;
  required?: boolean;
  onChange: (next: Json | undefined) => void;
}

const LONG_TEXT = /(body|html|text|template|message|description)/i;

export function Field({ name, schema, value, path, required, onChange }: FieldProps) {
  const env = useForm();
  const root = env.meta.root;
  const resolved = deref(root, schema);
  const { inner, nullable } = splitNullable(root, resolved);
  const label = titleOf(resolved, name);
  const errors = errorsAt(env, path, isConditionSchema(root, inner) || typeOf(inner) === "object" ? false : true);
  const description = resolved.description ?? inner.description;

  if (inner.const !== undefined) return null;
  const id = fieldId(path);
  const helpId = description ? `${id}-help` : undefined;
  const control = renderControl();
  // one control: its <label for>; several (a condition, a list, a nested group): a group named by the caption
  const single = isSingleControl();
  const caption = (
    <>
      {label}
      {required && !nullable ? (
        <>
          <span className="required" aria-hidden="true">
            *
          </span>
          <span className="sr-only"> (required)</span>
        </>
      ) : null}
    </>
  );
  return (
    <div className={`field ${errors.length ? "has-error" : ""}`} data-field={path}>
      {single ? (
        <label className="label" htmlFor={id}>
          {caption}
        </label>
      ) : (
        <span className="label" id={`${id}-label`}>
          {caption}
        </span>
      )}
      {single ? (
        control
      ) : (
        <div role="group" aria-labelledby={`${id}-label`} aria-describedby={helpId}>
          {control}
        </div>
      )}
      {description && (
        <div className="help" id={helpId}>
          {description}
        </div>
      )}
      {errors.map((message, index) => (
        <div key={index} className="field-error" role="alert">
          {message}
        </div>
      ))}
    </div>
  );

  function isSingleControl(): boolean {
    if (isConditionSchema(root, inner)) return false;
    if (enumOf(root, inner)) return true;
    const type = typeOf(inner);
    if (type === "array") return false;
    if (type === "object") return !inner.properties;
    if (type === undefined) return !(inner.oneOf || inner.anyOf);
    return true;
  }

  function renderControl() {
    const type = typeOf(inner);
    if (isConditionSchema(root, inner)) {
      return <ConditionBuilder schema={inner} value={(value as Obj) ?? { all: [] }} path={path} onChange={onChange} />;
    }
    const choices = enumOf(root, inner);
    if (choices) {
      return (
        <select id={id} name={path} value={value === null || value === undefined ? "" : String(value)} onChange={(e) => onChange(pickChoice(choices, e.target.value, nullable))}>
          {(nullable || value === undefined) && <option value="">—</option>}
          {choices.map((choice) => (
            <option key={String(choice)} value={String(choice)}>
              {choiceLabel(choice, inner)}
            </option>
          ))}
        </select>
      );
    }
    if (name === "filter" && type === "string") {
      const filters = env.nodes.filter((node) => node.type === "filter_customers");
      return (
        <select id={id} name={path} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.target.value || (nullable ? null : ""))}>
          <option value="">—</option>
          {filters.map((node) => (
            <option key={node.id} value={node.id}>
              {node.title ? `${node.title} (${node.id})` : node.id}
            </option>
          ))}
        </select>
      );
    }
    if (/(^|_)(segment|audience)(_id)?$/.test(name) && (type === "integer" || type === "string")) {
      return <ReferencePicker id={id} name={name} path={path} value={value ?? null} nullable={nullable} integer={type === "integer"} onChange={onChange} />;
    }
    switch (type) {
      case "boolean":
        return <input id={id} name={path} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
      case "integer":
      case "number":
        return (
          <span className="with-hint">
            <input
              id={id}
              name={path}
              type="number"
              step={type === "integer" ? 1 : "any"}
              min={inner.minimum}
              max={inner.maximum}
              value={typeof value === "number" ? value : ""}
              onChange={(e) => onChange(e.target.value === "" ? (nullable ? null : undefined) : Number(e.target.value))}
            />
            {/hour/.test(name) && <span className="tz">{env.timezone}</span>}
          </span>
        );
      case "string":
        return renderString(id);
      case "array":
        return <ArrayField schema={inner} value={Array.isArray(value) ? value : []} path={path} onChange={onChange} />;
      case "object":
        if (inner.properties) {
          if (value === null || value === undefined) {
            return (
              <button type="button" onClick={() => onChange(defaultFor(root, inner))}>
                Set {label.toLowerCase()}
              </button>
            );
          }
          return (
            <fieldset className="nested">
              <ObjectFields schema={inner} value={value as Obj} path={path} onChange={onChange} />
              {nullable && (
                <button type="button" className="link" onClick={() => onChange(null)}>
                  Clear
                </button>
              )}
            </fieldset>
          );
        }
        return <AnyValueInput id={id} path={path} value={value ?? null} onChange={onChange} />;
      default:
        if (inner.oneOf || inner.anyOf) return <UnionField schema={inner} label={label} value={value ?? null} path={path} onChange={onChange} />;
        return <AnyValueInput id={id} path={path} value={value ?? null} onChange={onChange} />;
    }
  }

  function renderString(id: string) {
    const text = typeof value === "string" ? value : "";
    const empty = nullable ? null : "";
    switch (inner.format) {
      case "date":
        return (
          <span className="with-hint">
            <input id={id} name={path} type="date" value={text} onChange={(e) => onChange(e.target.value || empty)} />
            <span className="tz">{env.timezone}</span>
          </span>
        );
      case "time":
        return <TimeInput id={id} path={path} value={text} nullable={nullable} onChange={onChange} />;
      case "date-time":
        return <DateTimeInput id={id} path={path} value={text} nullable={nullable} onChange={onChange} />;
      case "duration":
        return <DurationInput id={id} path={path} value={typeof value === "string" ? value : null} nullable={nullable} onChange={onChange} />;
    }
    if (inner["x-template"] === true) {
      return <TemplateInput id={id} path={path} name={name} value={text} maxLength={inner.maxLength} nullable={nullable} onChange={onChange} />;
    }
    if (LONG_TEXT.test(name) || (inner.maxLength === undefined && (inner.minLength ?? 0) > 0 && /body/.test(name))) {
      return <textarea id={id} name={path} rows={name.includes("html") ? 6 : 3} value={text} onChange={(e) => onChange(e.target.value || empty)} />;
    }
    return <input id={id} name={path} type="text" maxLength={inner.maxLength} value={text} onChange={(e) => onChange(e.target.value || empty)} />;
  }
}

/** A choice in words: the schema's own words for it (``x-choice-titles``), else "per_store" → "Per store" (the
 * stored value stays as it is). */
export function choiceLabel(choice: Json, schema?: JsonSchema): string {
  const titles = schema?.["x-choice-titles"];
  const own = titles && typeof titles === "object" && !Array.isArray(titles) ? titles[String(choice)] : undefined;
  if (typeof own === "string") return own;
  return typeof choice === "string" ? humanize(choice) : String(choice);
}

/** The id of a field's control, from its path (config.variants[0].weight): unique within one form. */
export function fieldId(path: string): string {
  return `f-${path.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
}

function enumOf(root: JsonSchema, schema: JsonSchema): Json[] | null {
  if (schema.enum) return schema.enum;
  const options = schema.oneOf ?? schema.anyOf;
  if (options && options.length > 0) {
    const consts = options.map((option) => deref(root, option).const);
    if (consts.every((item) => item !== undefined)) return consts as Json[];
  }
  return null;
}

function pickChoice(choices: Json[], text: string, nullable: boolean): Json {
  if (text === "") return nullable ? null : choices[0];
  return choices.find((choice) => String(choice) === text) ?? text;
}

function ArrayField({ schema, value, path, onChange }: { schema: JsonSchema; value: Json[]; path: string; onChange: (next: Json[]) => void }) {
  const env = useForm();
  const root = env.meta.root;
  const items = deref(root, schema.items);
  const choices = enumOf(root, items);
  if (choices) {
    return (
      <div className="choices" data-choices={path}>
        {choices.map((choice) => (
          <label key={String(choice)} className="choice">
            <input
              type="checkbox"
              name={`${path}:${String(choice)}`}
              checked={value.includes(choice)}
              onChange={(e) =>
                onChange(e.target.checked ? choices.filter((c) => c === choice || value.includes(c)) : value.filter((v) => v !== choice))
              }
            />
            {choiceLabel(choice, items)}
          </label>
        ))}
      </div>
    );
  }
  return (
    <div className="array" data-array={path}>
      {value.map((item, index) => (
        <div className="array-item" key={index}>
          <Field
            name={`${index + 1}`}
            schema={{ ...items, title: items.title ?? `#${index + 1}` }}
            value={item}
            path={`${path}[${index}]`}
            onChange={(next) => onChange(value.map((old, i) => (i === index ? (next ?? null) : old)))}
          />
          <button type="button" className="link remove" onClick={() => onChange(value.filter((_, i) => i !== index))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="add" onClick={() => onChange([...value, defaultFor(root, items)])}>
        + Add
      </button>
    </div>
  );
}

/** A union that is not a list of constants: pick the variant, then fill it in. */
function UnionField({ schema, label, value, path, onChange }: { schema: JsonSchema; label: string; value: Json; path: string; onChange: (next: Json) => void }) {
  const env = useForm();
  const root = env.meta.root;
  const options = (schema.oneOf ?? schema.anyOf ?? []).map((option) => deref(root, option));
  const index = Math.max(0, options.findIndex((option) => matches(option, value)));
  const chosen = options[index];
  return (
    <div className="union">
      <select aria-label={`${label}: kind`} value={index} onChange={(e) => onChange(defaultFor(root, options[Number(e.target.value)]))}>
        {options.map((option, i) => (
          <option key={i} value={i}>
            {option.title ?? typeOf(option) ?? `option ${i + 1}`}
          </option>
        ))}
      </select>
      {chosen && typeOf(chosen) !== "null" && <Field name="value" schema={chosen} value={value} path={path} onChange={(next) => onChange(next ?? null)} />}
    </div>
  );
}

function matches(schema: JsonSchema, value: Json): boolean {
  const type = typeOf(schema);
  if (value === null) return type === "null";
  if (Array.isArray(value)) return type === "array";
  if (typeof value === "object") return type === "object" && Object.keys(value).every((key) => key in (schema.properties ?? {}));
  if (typeof value === "number") return type === "number" || type === "integer";
  return type === typeof value;
}
