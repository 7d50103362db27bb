/** Widgets for values a plain input shows poorly. */
import { useEffect, useState } from "react";
import type { Json } from "../model/doc";
import { get } from "../lib/api";
import { formatDuration, isoToLocal, localToIso, parseDuration, type DurationUnit } from "../lib/time";
import { useForm } from "./FormContext";

/** A value of any JSON type typed as text: numbers, true / false and JSON lists are read as such. */
export function AnyValueInput({ id, path, value, onChange }: { id?: string; path: string; value: Json; onChange: (next: Json) => void }) {
  const shown = value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
  const [text, setText] = useState(shown);
  useEffect(() => setText(shown), [shown]);
  return (
    <input
      id={id}
      name={path}
      type="text"
      value={text}
      placeholder="text, number, true / false or [a, b]"
      onChange={(e) => {
        setText(e.target.value);
        onChange(readValue(e.target.value));
      }}
    />
  );
}

export function readValue(text: string): Json {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  if (trimmed === "true" || trimmed === "false") return trimmed === "true";
  if (trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed) as Json;
    } catch {
      return trimmed
        .slice(1, trimmed.endsWith("]") ? -1 : undefined)
        .split(",")
        .map((part) => readValue(part))
        .filter((part) => part !== null);
    }
  }
  return text;
}

const UNITS: DurationUnit[] = ["minutes", "hours", "days"];

/** An ISO-8601 duration as an amount and a unit (P365D ↔ 365 days). */
export function DurationInput({ id, path, value, nullable, onChange }: { id: string; path: string; value: string | null; nullable: boolean; onChange: (next: Json) => void }) {
  const parsed = parseDuration(value);
  const [unit, setUnit] = useState<DurationUnit>(parsed?.unit ?? "days");
  const amount = parsed?.amount;
  if (value && !parsed) {
    return <input id={id} name={path} type="text" value={value} onChange={(e) => onChange(e.target.value || (nullable ? null : ""))} />;
  }
  return (
    <span className="duration">
      <input
        id={id}
        name={path}
        type="number"
        min={0}
        step={1}
        value={amount ?? ""}
        placeholder={nullable ? "none" : ""}
        onChange={(e) => onChange(e.target.value === "" ? (nullable ? null : "P0D") : formatDuration(Number(e.target.value), unit))}
      />
      <select
        aria-label="Unit"
        name={`${path}:unit`}
        value={parsed?.unit ?? unit}
        onChange={(e) => {
          const next = e.target.value as DurationUnit;
          setUnit(next);
          if (amount !== undefined) onChange(formatDuration(amount, next));
        }}
      >
        {UNITS.map((u) => (
          <option key={u}>{u}</option>
        ))}
      </select>
    </span>
  );
}

/** A local time of day, always written with seconds (as the API returns it). */
export function TimeInput({ id, path, value, nullable, onChange }: { id: string; path: string; value: string; nullable: boolean; onChange: (next: Json) => void }) {
  const { timezone } = useForm();
  return (
    <span className="with-hint">
      <input
        id={id}
        name={path}
        type="time"
        value={value.slice(0, 5)}
        onChange={(e) => onChange(e.target.value ? `${e.target.value.slice(0, 5)}:00` : nullable ? null : "00:00:00")}
      />
      <span className="tz">{timezone}</span>
    </span>
  );
}

/** A date and time on the account's wall clock, stored as an instant with the zone's offset. */
export function DateTimeInput({ id, path, value, nullable, onChange }: { id: string; path: string; value: string; nullable: boolean; onChange: (next: Json) => void }) {
  const { timezone } = useForm();
  return (
    <span className="with-hint">
      <input
        id={id}
        name={path}
        type="datetime-local"
        value={value ? isoToLocal(value, timezone) : ""}
        onChange={(e) => onChange(e.target.value ? localToIso(e.target.value, timezone) : nullable ? null : "")}
      />
      <span className="tz">{timezone}</span>
    </span>
  );
}

/** A Liquid template (a setting marked ``x-template``): one line for a short one (a title, a button), else a
 * text area sized for HTML or plain text. Previewed for a customer below the node's form. */
/** The help every template field shows on hover: the variables, and the one syntax of a poll link. */
export const TEMPLATE_HELP =
  "Liquid: {{ customer.first_name }}, {{ order.total | money }}; a customer's personal poll link: {{ 'POLL-1' | poll_link }}";

export function TemplateInput(props: { id: string; path: string; name: string; value: string; maxLength?: number; nullable: boolean; onChange: (next: Json) => void }) {
  const { id, path, value, maxLength } = props;
  const change = (text: string) => props.onChange(text || (props.nullable ? null : ""));
  if (maxLength !== undefined && maxLength <= 200 && !value.includes("\n")) {
    return (
      <input id={id} name={path} type="text" className="template" data-template={path} title={TEMPLATE_HELP} spellCheck={false} maxLength={maxLength} value={value} onChange={(e) => change(e.target.value)} />
    );
  }
  const rows = props.name.includes("html") ? 8 : maxLength !== undefined && maxLength <= 1000 ? 2 : 4;
  return (
    <textarea id={id} name={path} className="template" data-template={path} title={TEMPLATE_HELP} spellCheck={false} rows={rows} maxLength={maxLength} value={value} onChange={(e) => change(e.target.value)} />
  );
}

type Named = { id: number | string; name?: string; title?: string };

/** Choose a segment or audience by name when the API lists them; else type its id. While the list loads, the
 * picker is a disabled list (not an id box that turns into a list under the user's fingers). */
export function ReferencePicker(props: { id: string; name: string; path: string; value: Json; nullable: boolean; integer: boolean; onChange: (next: Json) => void }) {
  const { paths } = useForm();
  const collection = props.name.includes("segment") ? "segments" : "audiences";
  const listed = paths.has(`/api/v1/${collection}`);
  const [items, setItems] = useState<Named[] | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  useEffect(() => {
    if (!listed) return;
    get<Named[] | { items: Named[] }>(collection).then(
      (body) => setItems(Array.isArray(body) ? body : body.items),
      () => setUnavailable(true),
    );
  }, [listed, collection]);
  const read = (text: string): Json => (text === "" ? (props.nullable ? null : "") : props.integer ? Number(text) : text);
  if (!listed || unavailable) {
    return (
      <input
        id={props.id}
        name={props.path}
        type={props.integer ? "number" : "text"}
        value={props.value === null ? "" : String(props.value)}
        placeholder={`${collection.slice(0, -1)} id`}
        onChange={(e) => props.onChange(read(e.target.value))}
      />
    );
  }
  if (!items) {
    return (
      <select id={props.id} name={props.path} value="" disabled aria-busy="true">
        <option value="">Loading {collection}…</option>
      </select>
    );
  }
  return (
    <select id={props.id} name={props.path} value={props.value === null ? "" : String(props.value)} onChange={(e) => props.onChange(read(e.target.value))}>
      <option value="">—</option>
      {items.map((item) => (
        <option key={item.id} value={String(item.id)}>
          {item.name ?? item.title ?? item.id}
        </option>
      ))}
    </select>
  );
}
