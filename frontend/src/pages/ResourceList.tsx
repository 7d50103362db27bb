/** A page for a collection the API may not serve yet (segments, audiences): it lists what GET returns, or
 * says that this server does not have it. */
import { useEffect, useState } from "react";
import { get } from "../lib/api";
import { useApp } from "../lib/context";

type Row = Record<string, unknown>;

export function ResourceList({ title, path }: { title: string; path: string }) {
  const { paths } = useApp();
  const available = paths.has(path);
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!available) return;
    get<Row[] | { items: Row[] }>(path).then(
      (body) => setRows(Array.isArray(body) ? body : body.items),
      (e: Error) => setError(e.message),
    );
  }, [available, path]);

  const columns = rows && rows.length ? Object.keys(rows[0]).filter((key) => typeof rows[0][key] !== "object") : [];
  return (
    <section className="list-page">
      <header className="page-header">
        <h1>{title}</h1>
      </header>
      {!available && (
        <p className="empty" data-testid="unavailable">
          This server's API has no {title.toLowerCase()} yet ({path} is not in its OpenAPI document).
        </p>
      )}
      {error && <div className="banner error">{error}</div>}
      {rows && (
        <table className="table">
          <thead>
            <tr>{columns.map((column) => <th key={column}>{column}</th>)}</tr>
          </thead>
          <tbody>
            {rows.map((row, index) => (
              <tr key={index}>
                {columns.map((column) => (
                  <td key={column}>{String(row[column] ?? "—")}</td>
                ))}
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td className="empty" colSpan={Math.max(columns.length, 1)}>
                  None yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
