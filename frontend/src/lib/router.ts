/** Hash routes (#/campaigns/3): the server serves one page at /ui/, so any route reloads and bookmarks. */
import { useEffect, useState } from "react";

export type Route =
  | { page: "campaigns" }
  | { page: "campaign"; id: number }
  | { page: "segments" }
  | { page: "audiences" }
  | { page: "customers"; id?: string }
  | { page: "messages" }
  | { page: "settings" };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "campaigns":
      return parts[1] && /^\d+$/.test(parts[1]) ? { page: "campaign", id: Number(parts[1]) } : { page: "campaigns" };
    case "segments":
    case "audiences":
    case "messages":
    case "settings":
      return { page: parts[0] };
    case "customers":
      return { page: "customers", id: parts[1] };
    default:
      return { page: "campaigns" };
  }
}

/** Asked before the route changes; answer false to stay (the editor asks when there are unsaved changes). */
let leaveGuard: ((go: () => void) => boolean) | null = null;
export function setLeaveGuard(guard: ((go: () => void) => boolean) | null): void {
  leaveGuard = guard;
}

let current = window.location.hash;

export function navigate(hash: string): void {
  if (hash === window.location.hash) return;
  window.location.hash = hash;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = () => {
      const target = window.location.hash;
      if (target === current) return;
      if (leaveGuard) {
        const from = current;
        const go = () => {
          leaveGuard = null;
          current = target;
          if (window.location.hash !== target) window.location.hash = target;
          setRoute(parseRoute(target));
        };
        if (!leaveGuard(go)) {
          window.history.replaceState(null, "", from || "#/campaigns");
          return;
        }
      }
      current = target;
      setRoute(parseRoute(target));
    };
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
