import { createContext, useContext } from "react";
import type { EditorMeta } from "../model/meta";

export interface FormEnv {
  meta: EditorMeta;
  timezone: string;
  /** Problems by field path relative to the node (``config.subject``). */
  errors: Record<string, string[]>;
  /** API collections this server has (for segment / audience pickers). */
  paths: Set<string>;
  /** The campaign's action nodes (for settings that name another node, e.g. the filter a refresh re-runs). */
  nodes: { id: string; type: string; title?: string | null }[];
}

export const FormCtx = createContext<FormEnv | null>(null);

export function useForm(): FormEnv {
  const env = useContext(FormCtx);
  if (!env) throw new Error("form field outside a form");
  return env;
}

export function errorsAt(env: FormEnv, path: string, nested = false): string[] {
  return Object.entries(env.errors)
    .filter(([field]) => field === path || (nested && (field.startsWith(`${path}.`) || field.startsWith(`${path}[`))))
    .flatMap(([field, messages]) => messages.map((message) => (field === path ? message : `${field.slice(path.length + 1)}: ${message}`)));
}
