/** The sign-in page: e-mail and password; the server sets the session cookie and answers the CSRF token. */
import { useState } from "react";
import { api, ApiError, type SessionInfo } from "../lib/api";

export function SignIn({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      onSignedIn(await api.signIn(email, password));
    } catch (error) {
      setFailure(error instanceof ApiError ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <form className="card form" onSubmit={submit} aria-label="Sign in">
        <div className="brand">Tidings</div>
        <h1>Sign in</h1>
        <label className="field">
          <span className="label">E-mail</span>
          <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span className="label">Password</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {failure && (
          <div className="banner error" data-testid="sign-in-error">
            {failure}
          </div>
        )}
        <button type="submit" className="primary" data-action="sign-in" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
