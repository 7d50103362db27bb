/** Campaigns: status, name, orders and revenue credited to them, created, updated; search by name, "only active";
 * create, duplicate, archive. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { api, ApiError, type CampaignListItem, type CampaignSummary } from "../lib/api";
import { formatTime, useApp } from "../lib/context";
import { navigate } from "../lib/router";
import { newDocument } from "../model/ops";

export function CampaignList() {
  const { meta, account } = useApp();
  const [items, setItems] = useState<CampaignListItem[] | null>(null);
  const [search, setSearch] = useState("");
  const [onlyActive, setOnlyActive] = useState(false);
  const [showArchived, setShowArchived] = useState(false);
  const [name, setName] = useState("");
  const [message, setMessage] = useState<string | null>(null);

  const reload = useCallback(() => api.campaigns().then(setItems, (e: Error) => setMessage(e.message)), []);
  useEffect(() => void reload(), [reload]);

  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return (items ?? []).filter(
      (item) =>
        (!needle || item.name.toLowerCase().includes(needle)) &&
        (!onlyActive || item.status === "active") &&
        (showArchived || item.status !== "archived"),
    );
  }, [items, search, onlyActive, showArchived]);

  const act = async (work: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await work();
    } catch (error) {
      setMessage(error instanceof ApiError ? error.message : String(error));
    }
    await reload();
  };

  const create = (event: React.FormEvent) => {
    event.preventDefault();
    const title = name.trim();
    if (!title) return;
    void act(async () => {
      const created = await api.create(newDocument(meta, title));
      navigate(`#/campaigns/${created.id}`);
    });
  };

  const duplicate = (item: CampaignSummary) =>
    act(async () => {
      const { document } = await api.campaign(item.id);
      await api.create({ ...document, name: `${document.name} (copy)`.slice(0, 200) });
    });

  const activeCount = (items ?? []).filter((item) => item.status === "active").length;
  return (
    <section className="list-page">
      <header className="page-header">
        <h1>Campaigns</h1>
        <span className="metric" data-testid="active-count">
          {activeCount} active
        </span>
      </header>
      <div className="toolbar">
        <input
          type="search"
          placeholder="Search by name"
          aria-label="Search by name"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <label>
          <input type="checkbox" checked={onlyActive} onChange={(event) => setOnlyActive(event.target.checked)} /> Only
          active
        </label>
        <label>
          <input type="checkbox" checked={showArchived} onChange={(event) => setShowArchived(event.target.checked)} />{" "}
          Show archived
        </label>
        <form className="create" onSubmit={create}>
          <input
            placeholder="New campaign name"
            aria-label="New campaign name"
            value={name}
            maxLength={200}
            onChange={(event) => setName(event.target.value)}
          />
          <button type="submit" className="primary" disabled={!name.trim()}>
            Create campaign
          </button>
        </form>
      </div>
      {message && <div className="banner error">{message}</div>}
      <table className="table" data-testid="campaigns">
        <thead>
          <tr>
            <th>Status</th>
            <th>Name</th>
            <th className="number">Orders</th>
            <th className="number">Revenue</th>
            <th>Created</th>
            <th>Updated</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((item) => (
            <tr key={item.id} data-campaign={item.id}>
              <td>
                <span className={`status status-${item.status}`}>{item.status}</span>
              </td>
              <td>
                <a href={`#/campaigns/${item.id}`}>{item.name}</a>
              </td>
              <td className="number" data-column="orders">
                {item.orders.toLocaleString("en")}
              </td>
              <td className="number" data-column="revenue">
                {item.revenue.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}
              </td>
              <td>{formatTime(item.created_at, account?.timezone)}</td>
              <td>{formatTime(item.updated_at, account?.timezone)}</td>
              <td className="row-actions">
                <button onClick={() => void duplicate(item)}>Duplicate</button>
                {(item.status === "draft" || item.status === "stopped") && (
                  <button onClick={() => void act(() => api.transition(item.id, "archive"))}>Archive</button>
                )}
              </td>
            </tr>
          ))}
          {items && shown.length === 0 && (
            <tr>
              <td colSpan={7} className="empty">
                No campaigns{search || onlyActive ? " match" : " yet"}.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
