/** The shell: the sign-in page until signed in; then navigation on the left, one page at a time; loads the schema,
 * catalogue and settings once. */
import { useCallback, useEffect, useState } from "react";
import { api, ApiError, setSession, type AccountSettings, type SessionInfo } from "./lib/api";
import { AppCtx, type AppContext } from "./lib/context";
import { useRoute, type Route } from "./lib/router";
import { buildMeta } from "./model/meta";
import { CampaignList } from "./pages/CampaignList";
import { CampaignPage } from "./pages/CampaignPage";
import { Customers } from "./pages/Customers";
import { Mailbox } from "./pages/Mailbox";
import { Settings } from "./pages/Settings";
import { ResourceList } from "./pages/ResourceList";
import { SignIn } from "./pages/SignIn";

const NAV: [Route["page"], string, string][] = [
  ["campaigns", "Campaigns", "#/campaigns"],
  ["segments", "Segments", "#/segments"],
  ["audiences", "Audiences", "#/audiences"],
  ["customers", "Customers", "#/customers"],
  ["messages", "Messages", "#/messages"],
  ["settings", "Settings", "#/settings"],
];

export function App() {
  /** undefined: not known yet; null: signed out. */
  const [session, setSessionInfo] = useState<SessionInfo | null | undefined>(undefined);
  const [failure, setFailure] = useState<string | null>(null);

  const signedIn = useCallback((info: SessionInfo | null) => {
    setSession(info?.csrf_token ?? null, () => setSessionInfo(null));
    setSessionInfo(info);
  }, []);
  useEffect(() => {
    api.session().then(signedIn, (error) => {
      if (error instanceof ApiError && error.status === 401) signedIn(null);
      else setFailure(error instanceof Error ? error.message : String(error));
    });
  }, [signedIn]);

  if (failure) return <div className="banner error">The API did not answer: {failure}</div>;
  if (session === undefined) return <div className="loading">Loading…</div>;
  if (session === null) return <SignIn onSignedIn={signedIn} />;
  return (
    <Workspace
      session={session}
      onSignOut={() => {
        void api.signOut().finally(() => signedIn(null));
      }}
    />
  );
}

function Workspace({ session, onSignOut }: { session: SessionInfo; onSignOut: () => void }) {
  const route = useRoute();
  const [context, setContext] = useState<AppContext | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [schema, catalog, openapi, account] = await Promise.all([
        api.schema(),
        api.catalog(),
        api.openapi(),
        api.settings().catch(() => null),
      ]);
      setContext({
        caller: session.caller,
        meta: buildMeta(schema, catalog),
        account,
        paths: new Set(Object.keys(openapi.paths)),
        refreshAccount: async () => {
          const fresh: AccountSettings = await api.settings();
          setContext((previous) => previous && { ...previous, account: fresh });
        },
      });
    } catch (error) {
      setFailure(error instanceof Error ? error.message : String(error));
    }
  }, [session]);
  useEffect(() => void load(), [load]);

  const active = route.page === "campaign" ? "campaigns" : route.page;
  return (
    <div className="shell">
      <nav className="nav" aria-label="Sections">
        <div className="brand">Tidings</div>
        {NAV.map(([page, label, href]) => (
          <a key={page} href={href} className={page === active ? "active" : ""} data-nav={page}>
            {label}
          </a>
        ))}
        <div className="who" data-testid="signed-in-as">
          <span>{session.caller.name}</span>
          <span className="role">{session.caller.role}</span>
          <button type="button" data-action="sign-out" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="page">
        {failure && <div className="banner error">The API did not answer: {failure}</div>}
        {!context && !failure && <div className="loading">Loading…</div>}
        {context && (
          <AppCtx.Provider value={context}>
            <Page route={route} />
          </AppCtx.Provider>
        )}
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "campaigns":
      return <CampaignList />;
    case "campaign":
      return <CampaignPage key={route.id} id={route.id} />;
    case "segments":
      return <ResourceList title="Segments" path="/api/v1/segments" />;
    case "audiences":
      return <ResourceList title="Audiences" path="/api/v1/audiences" />;
    case "customers":
      return <Customers id={route.id} />;
    case "messages":
      return <Mailbox />;
    case "settings":
      return <Settings />;
  }
}
