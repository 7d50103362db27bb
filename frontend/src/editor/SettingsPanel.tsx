/** The campaign's name and settings (re-entry interval, attribution), from the schema's settings object. */
import { useMemo, useState } from "react";
import type { Config } from "../model/doc";
import { setNameAndSettings } from "../model/ops";
import { useApp } from "../lib/context";
import { FormCtx, type FormEnv } from "../forms/FormContext";
import { ObjectFields } from "../forms/SchemaForm";
import { useEditor, useEditorStore } from "./context";

export function SettingsPanel({ onClose }: { onClose: () => void }) {
  const { meta, account, paths } = useApp();
  const store = useEditorStore();
  const doc = useEditor((state) => state.history.present);
  const problems = useEditor((state) => state.problems);
  const [name, setName] = useState(doc.name);
  const [settings, setSettings] = useState<Config>(doc.settings ?? {});
  const env = useMemo<FormEnv>(() => {
    const errors: Record<string, string[]> = {};
    for (const problem of problems) if (problem.node === null && problem.field) (errors[problem.field] ??= []).push(problem.message);
    return { meta, timezone: account?.timezone ?? "UTC", errors, paths, nodes: [] };
  }, [meta, account, paths, problems]);

  return (
    <aside className="side-panel" aria-label="Campaign settings" data-panel="settings">
      <header>
        <h2>Campaign</h2>
      </header>
      <FormCtx.Provider value={env}>
        <form
          className="form"
          onSubmit={(event) => {
            event.preventDefault();
            store.getState().apply((current) => setNameAndSettings(current, name.trim() || current.name, meta.settings ? settings : undefined));
            onClose();
          }}
        >
          <div className="field">
            <label className="label" htmlFor="campaign-name">
              Name
            </label>
            <input id="campaign-name" name="name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
          </div>
          {meta.settings && <ObjectFields schema={meta.settings} value={settings} path="settings" onChange={setSettings} />}
          <div className="buttons">
            <button type="submit" className="primary">
              Apply
            </button>
            <button type="button" onClick={onClose}>
              Cancel
            </button>
          </div>
        </form>
      </FormCtx.Provider>
    </aside>
  );
}
