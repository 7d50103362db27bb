/** What every page reads once: the editor metadata, the account settings, and which APIs this server has. */
import { createContext, useContext } from "react";
import type { EditorMeta } from "../model/meta";
import type { AccountSettings, Caller } from "./api";

export interface AppContext {
  /** Who is signed in, and what they may change. */
  caller: Caller;
  meta: EditorMeta;
  account: AccountSettings | null;
  paths: Set<string>;
  refreshAccount(): Promise<void>;
}

export const AppCtx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const context = useContext(AppCtx);
  if (!context) throw new Error("useApp outside the app");
  return context;
}

/** Whether the signed-in caller may change ``area`` (as the server decides: ``may_change``). */
export function useMayChange(area: string): boolean {
  return useApp().caller.may_change.includes(area);
}

export function formatTime(iso: string | null | undefined, timezone?: string): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    timeZone: timezone,
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}
