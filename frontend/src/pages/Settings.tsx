/** Account settings: time zone (shown by every date and time field of the editor), delivery window, sender. */
import { useEffect, useState } from "react";
import { put, ApiError, type AccountSettings } from "../lib/api";
import { useApp } from "../lib/context";

const FIELDS: [keyof AccountSettings, string, string][] = [
  ["timezone", "Time zone", "IANA name, e.g. Europe/Riga"],
  ["delivery_window_start", "SMS and push from", "HH:MM"],
  ["delivery_window_end", "SMS and push until", "HH:MM"],
  ["email_from", "Sender address", ""],
  ["email_from_name", "Sender name", ""],
];

export function Settings() {
  const { account, refreshAccount } = useApp();
  const [draft, setDraft] = useState<AccountSettings | null>(account);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => setDraft(account), [account]);
  if (!draft) return <div className="loading">Loading…</div>;

  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    try {
      await put("settings", draft);
      await refreshAccount();
      setMessage({ ok: true, text: "Saved." });
    } catch (error) {
      setMessage({ ok: false, text: error instanceof ApiError ? error.message : String(error) });
    }
  };

  return (
    <section className="list-page">
      <header className="page-header">
        <h1>Settings</h1>
      </header>
      <form className="card form settings" onSubmit={save}>
        {FIELDS.map(([name, label, hint]) => (
          <label key={name} className="field">
            <span className="label">{label}</span>
            <input
              name={name}
              value={draft[name]}
              placeholder={hint}
              onChange={(event) => setDraft({ ...draft, [name]: event.target.value })}
            />
          </label>
        ))}
        <div className="buttons">
          <button type="submit" className="primary">
            Save settings
          </button>
        </div>
        {message && <div className={`banner ${message.ok ? "ok" : "error"}`}>{message.text}</div>}
      </form>
    </section>
  );
}
