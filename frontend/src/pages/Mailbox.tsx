/** Messages: the sandbox mailbox (what the built-in provider delivered), newest first. A message is shown as
 * ``body_view``, never the delivered body: its open pixel would count the marketer's look as the customer's open. */
import { useEffect, useState } from "react";
import { get } from "../lib/api";
import { formatTime, useApp } from "../lib/context";

interface Mail {
  id: number;
  recipient: string;
  sender: string;
  subject: string;
  /** The body without the open pixel and with direct links: looking at it counts no open and no click. */
  body_view: string;
  received_at: string;
}

const PAGE = 1000;

export function Mailbox() {
  const { account } = useApp();
  const [mail, setMail] = useState<Mail[] | null>(null);
  const [recipient, setRecipient] = useState("");
  const [open, setOpen] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = (address: string) => {
    const filter = address.trim() ? `&recipient=${encodeURIComponent(address.trim())}` : "";
    get<{ items: Mail[] }>(`mailbox?limit=${PAGE}${filter}`).then(
      (page) => setMail([...page.items].reverse()),
      (e: Error) => setError(e.message),
    );
  };
  useEffect(() => load(""), []);

  const shown = mail?.find((item) => item.id === open);
  return (
    <section className="list-page">
      <header className="page-header">
        <h1>Messages</h1>
        <span className="metric">sandbox mailbox</span>
      </header>
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          load(recipient);
        }}
      >
        <input placeholder="Recipient" aria-label="Recipient" value={recipient} onChange={(e) => setRecipient(e.target.value)} />
        <button type="submit">Filter</button>
        <button type="button" onClick={() => load(recipient)}>
          Refresh
        </button>
      </form>
      {error && <div className="banner error">{error}</div>}
      <div className="mailbox">
        <table className="table" data-testid="mailbox">
          <thead>
            <tr>
              <th>Received</th>
              <th>To</th>
              <th>Subject</th>
            </tr>
          </thead>
          <tbody>
            {(mail ?? []).map((item) => (
              <tr key={item.id} className={item.id === open ? "selected" : ""} onClick={() => setOpen(item.id)}>
                <td>{formatTime(item.received_at, account?.timezone)}</td>
                <td>{item.recipient}</td>
                <td>{item.subject}</td>
              </tr>
            ))}
            {mail && mail.length === 0 && (
              <tr>
                <td colSpan={3} className="empty">
                  The mailbox is empty.
                </td>
              </tr>
            )}
          </tbody>
        </table>
        {shown && (
          <article className="card mail">
            <h3>{shown.subject}</h3>
            <p className="muted">
              From {shown.sender} to {shown.recipient}
            </p>
            <iframe title="Message body" sandbox="" srcDoc={shown.body_view} />
          </article>
        )}
      </div>
    </section>
  );
}
