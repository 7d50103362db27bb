/** The REST API, as the editor uses it. Errors carry the API's ``{"error": {code, message, details}}``. */
import type { CampaignDoc } from "../model/doc";
import type { Catalog } from "../model/meta";
import type { JsonSchema } from "../model/schema";
import type { NodeStats, Problem } from "../model/store";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
  }

  /** Problems that name a node and a field (a refused campaign document). */
  problems(): Problem[] {
    if (!Array.isArray(this.details)) return [];
    return this.details
      .filter((item): item is Record<string, unknown> => !!item && typeof item === "object")
      .map((item) => ({
        node: typeof item.node === "string" ? item.node : null,
        field: typeof item.field === "string" ? item.field : null,
        message: String(item.message ?? "invalid"),
      }));
  }
}

/** The session's CSRF token: every change made with the session cookie sends it back (``X-CSRF-Token``). */
let csrfToken: string | null = null;
/** Called when the server says the session has ended (401), so the shell shows the sign-in page. */
let onSignedOut: () => void = () => undefined;

export function setSession(token: string | null, signedOut?: () => void): void {
  csrfToken = token;
  if (signedOut) onSignedOut = signedOut;
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/json" };
  if (csrfToken && method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (response.status === 401 && path !== "session") onSignedOut();
    throw new ApiError(response.status, error?.code ?? "http_error", error?.message ?? response.statusText, error?.details);
  }
  return parsed as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, body);
export const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, body);

/** Who is signed in, as the server says (``GET /api/v1/session``). */
export interface Caller {
  kind: "user" | "key";
  id: number;
  name: string;
  role: "admin" | "marketer" | "analyst" | null;
  scopes: string[];
  /** The areas the caller may change: the editor offers changes only there. */
  may_change: string[];
}

export interface SessionInfo {
  caller: Caller;
  csrf_token: string | null;
}

export interface CampaignSummary {
  id: number;
  name: string;
  status: string;
  status_reason: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface CampaignListItem extends CampaignSummary {
  /** Orders credited to the campaign's messages (last touch) and their total. */
  orders: number;
  revenue: number;
}

export interface CampaignDetail extends CampaignSummary {
  document: CampaignDoc;
}

export interface Affected {
  stay: number;
  rerouted: number;
  dropped: number;
}

export interface AccountSettings {
  timezone: string;
  delivery_window_start: string;
  delivery_window_end: string;
  email_from: string;
  email_from_name: string;
}

export const api = {
  session: () => get<SessionInfo>("session"),
  signIn: (email: string, password: string) => post<SessionInfo>("session", { email, password }),
  signOut: () => request<null>("DELETE", "session"),
  schema: () => get<JsonSchema>("schema/campaign"),
  catalog: () => get<Catalog>("/ui/catalog.json"),
  openapi: () => get<{ paths: Record<string, unknown> }>("openapi.json"),
  settings: () => get<AccountSettings>("settings"),
  campaigns: () => get<{ items: CampaignListItem[] }>("campaigns").then((page) => page.items),
  campaign: (id: number) => get<CampaignDetail>(`campaigns/${id}`),
  create: (doc: CampaignDoc) => post<{ id: number; version: number; status: string }>("campaigns", doc),
  save: (id: number, doc: CampaignDoc, dryRun = false) =>
    put<{ version: number; dry_run: boolean; affected: Affected }>(`campaigns/${id}${dryRun ? "?dry_run=true" : ""}`, doc),
  transition: (id: number, verb: "activate" | "pause" | "stop" | "archive") =>
    post<{ id: number; status: string }>(`campaigns/${id}/${verb}`),
  stats: (id: number) => get<{ nodes: NodeStats[] }>(`campaigns/${id}/stats`).then((page) => page.nodes),
};
