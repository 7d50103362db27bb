/** Customers: look one up by external id — profile, subscriptions, and every journey with its trace. */
import { useEffect, useState } from "react";
import { get } from "../lib/api";
import { formatTime, useApp } from "../lib/context";
import { navigate } from "../lib/router";
import { humanize } from "../model/schema";

type Profile = Record<string, unknown> & { external_id: string; subscriptions: Record<string, boolean> };
interface Journey {
  entry_id: number;
  campaign_id: number;
  campaign_name: string | null;
  status: string;
  entered_at: string;
  steps: { node: string; title: string; at: string; outcome: string; port: string | null; reason: string | null }[];
  waiting: { node: string; title: string; due_at: string }[];
}

export function Customers({ id }: { id?: string }) {
  const { account } = useApp();
  const [query, setQuery] = useState(id ?? "");
  const [profile, setProfile] = useState<Profile | null>(null);
  const [journeys, setJourneys] = useState<Journey[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setProfile(null);
    setJourneys([]);
    setError(null);
    if (!id) return;
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
  return (
    <section className="list-page">
      <header className="page-header">
        <h1>Customers</h1>
      </header>
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          if (query.trim()) navigate(`#/customers/${encodeURIComponent(query.trim())}`);
        }}
      >
        <input placeholder="External id" aria-label="External id" value={query} onChange={(e) => setQuery(e.target.value)} />
        <button type="submit">Find</button>
      </form>
      {error && <div className="banner error">{error}</div>}
      {profile && (
        <div className="cards">
          <dl className="card profile">
            {Object.entries(profile)
              .filter(([, value]) => value !== null && typeof value !== "object")
              .map(([key, value]) => (
                <div key={key}>
                  <dt>{key}</dt>
                  <dd>{String(value)}</dd>
                </div>
              ))}
            <div>
              <dt>subscriptions</dt>
              <dd>
                {Object.entries(profile.subscriptions)
                  .map(([channel, on]) => `${channel}: ${on ? "yes" : "no"}`)
                  .join(", ") || "—"}
              </dd>
            </div>
          </dl>
          {journeys.map((journey) => (
            <div className="card" key={journey.entry_id}>
              <h3>
                <a href={`#/campaigns/${journey.campaign_id}`}>{journey.campaign_name ?? `Campaign ${journey.campaign_id}`}</a>{" "}
                <span className={`status status-${journey.status}`}>{journey.status}</span>
              </h3>
              <ol className="trace">
                {journey.steps.map((step, index) => (
                  <li key={index} data-step={step.node}>
                    {formatTime(step.at, tz)} · <b>{step.title}</b>
                    {step.outcome === "dropped"
                      ? ` — left the campaign${step.reason ? `: ${humanize(step.reason).toLowerCase()}` : ""}`
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
