/** Customers: a paged list found by name, e-mail, phone or id; a customer's profile — details, subscriptions,
 * points — and every campaign journey told step by step in words, with the titles typed for the nodes. */
import { useEffect, useState } from "react";
import { get } from "../lib/api";
import { formatTime, useApp } from "../lib/context";
import { reasonText } from "../lib/reasons";
import { humanize } from "../model/schema";

const PAGE = 50;

interface ListItem {
  external_id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  city: string | null;
}
type Profile = Record<string, unknown> & {
  external_id: string;
  first_name: string | null;
  last_name: string | null;
  attributes: Record<string, unknown>;
  subscriptions: Record<string, boolean>;
  points: number;
};
interface Journey {
  entry_id: number;
  campaign_id: number;
  campaign_name: string | null;
  status: string;
  entered_at: string;
  steps: { node: string; title: string; at: string; outcome: string; port: string | null; reason: string | null }[];
  waiting: { node: string; title: string; due_at: string }[];
}

const fullName = (person: { first_name: string | null; last_name: string | null }) =>
  [person.first_name, person.last_name].filter(Boolean).join(" ");

export function Customers({ id }: { id?: string }) {
  return id ? <CustomerProfile id={id} /> : <CustomerList />;
}

function CustomerList() {
  const [query, setQuery] = useState("");
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ items: ListItem[]; has_more: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const q = search ? `&q=${encodeURIComponent(search)}` : "";
    get<{ items: ListItem[]; has_more: boolean }>(`customers?limit=${PAGE}&offset=${offset}${q}`).then(setPage, (e: Error) =>
      setError(e.message),
    );
  }, [search, offset]);

  return (
    <section className="list-page">
      <header className="page-header">
        <h1>Customers</h1>
      </header>
      <form
        className="toolbar"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          setOffset(0);
          setSearch(query.trim());
        }}
      >
        <input
          type="search"
          aria-label="Find a customer"
          placeholder="Name, e-mail, phone or id"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <button type="submit">Find</button>
      </form>
      {error && <div className="banner error">{error}</div>}
      <table className="table" data-testid="customers">
        <thead>
          <tr>
            <th>Name</th>
            <th>E-mail</th>
            <th>Phone</th>
            <th>City</th>
            <th>Customer id</th>
          </tr>
        </thead>
        <tbody>
          {(page?.items ?? []).map((item) => (
            <tr key={item.external_id} data-customer={item.external_id}>
              <td>
                <a href={`#/customers/${encodeURIComponent(item.external_id)}`}>{fullName(item) || item.external_id}</a>
              </td>
              <td>{item.email ?? "—"}</td>
              <td>{item.phone ?? "—"}</td>
              <td>{item.city ?? "—"}</td>
              <td>{item.external_id}</td>
            </tr>
          ))}
          {page && page.items.length === 0 && (
            <tr>
              <td colSpan={5} className="empty">
                {search ? `No customer matches “${search}”.` : "No customers yet."}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous
        </button>
        <span className="muted" data-testid="page-range">
          {page && page.items.length > 0 ? `${offset + 1}–${offset + page.items.length}` : ""}
        </span>
        <button type="button" disabled={!page?.has_more} onClick={() => setOffset(offset + PAGE)}>
          Next
        </button>
      </nav>
    </section>
  );
}

function CustomerProfile({ id }: { id: string }) {
  const { account, meta } = useApp();
  const [profile, setProfile] = useState<Profile | null>(null);
  const [journeys, setJourneys] = useState<Journey[]>([]);
  const [error, setError] = useState<string | null>(null);
  const titles = meta.catalog.condition.field_titles ?? {};

  useEffect(() => {
    setProfile(null);
    setJourneys([]);
    setError(null);
    const path = `customers/${encodeURIComponent(id)}`;
    Promise.all([get<Profile>(path), get<{ journeys: Journey[] }>(`${path}/journeys`)]).then(
      ([found, trace]) => {
        setProfile(found);
        setJourneys(trace.journeys);
      },
      (e: Error) => setError(e.message),
    );
  }, [id]);

  const tz = account?.timezone;
  const shown = (value: unknown) => (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value) ? formatTime(value, tz) : String(value));
  const details = profile
    ? [
        ...Object.entries(profile)
          .filter(([key, value]) => value !== null && typeof value !== "object" && !["created_at", "updated_at", "points"].includes(key))
          .map(([key, value]): [string, string] => [titles[key] ?? humanize(key), shown(value)]),
        ...Object.entries(profile.attributes ?? {}).map(([code, value]): [string, string] => [
          titles[`attributes.${code}`] ?? humanize(code),
          shown(value),
        ]),
        ["Points", String(profile.points)] as [string, string],
      ]
    : [];
  return (
    <section className="list-page">
      <a href="#/customers">← Customers</a>
      <header className="page-header">
        <h1>{profile ? fullName(profile) || profile.external_id : id}</h1>
      </header>
      {error && <div className="banner error">{error}</div>}
      {profile && (
        <div className="cards">
          <dl className="card profile" data-testid="profile">
            {details.map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
            <div>
              <dt>Subscriptions</dt>
              <dd>
                {Object.entries(profile.subscriptions)
                  .map(([channel, on]) => `${humanize(channel)}: ${on ? "subscribed" : "unsubscribed"}`)
                  .join(", ") || "—"}
              </dd>
            </div>
          </dl>
          <h2>Journeys</h2>
          {journeys.length === 0 && <p className="muted">Not in any campaign yet.</p>}
          {journeys.map((journey) => (
            <div className="card journey" key={journey.entry_id} data-entry={journey.entry_id}>
              <h3>
                <a href={`#/campaigns/${journey.campaign_id}`}>{journey.campaign_name ?? `Campaign ${journey.campaign_id}`}</a>{" "}
                <span className={`status status-${journey.status}`}>{journey.status === "active" ? "in progress" : journey.status}</span>
              </h3>
              <ol className="trace">
                <li>{formatTime(journey.entered_at, tz)} · entered the campaign</li>
                {journey.steps.map((step, index) => (
                  <li key={index} data-step={step.node}>
                    {formatTime(step.at, tz)} · <b>{step.title}</b>
                    {step.outcome === "dropped"
                      ? ` — ${reasonText(step.reason)}`
                      : step.port && step.port !== "out"
                        ? ` → ${humanize(step.port).toLowerCase()}`
                        : " — done"}
                  </li>
                ))}
                {journey.waiting.map((wait, index) => (
                  <li key={`w${index}`}>
                    waiting at <b>{wait.title}</b> until {formatTime(wait.due_at, tz)}
                  </li>
                ))}
              </ol>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
