/** The form of one node (double-click, or right-click → Edit): its title and settings, generated from the
 * node type's JSON Schema; for the trigger, its type too. Problems from the last save are shown at the field
 * they name. Apply is one undo step. A node with templates previews them, as typed, for a chosen customer. */
import { useMemo, useState } from "react";
import { clone, findNode, type DocNode } from "../model/doc";
import { defaultConfig } from "../model/meta";
import { changeTriggerType, updateNode } from "../model/ops";
import { useApp } from "../lib/context";
import { FormCtx, type FormEnv } from "../forms/FormContext";
import { PreviewPanel } from "../forms/PreviewPanel";
import { ObjectFields } from "../forms/SchemaForm";
import { plainMessage } from "../model/problems";
import { useEditor, useEditorStore } from "./context";
import { focusNode } from "./focus";

export function NodeEditor({ id }: { id: string }) {
  const { meta, account, paths } = useApp();
  const store = useEditorStore();
  const doc = useEditor((state) => state.history.present);
  const problems = useEditor((state) => state.problems);
  const campaignId = useEditor((state) => state.campaignId);
  const original = findNode(doc, id);
  const [draft, setDraft] = useState<DocNode | null>(() => (original ? clone(original) : null));
  const isTrigger = doc.trigger.id === id;

  const env = useMemo<FormEnv>(() => {
    const errors: Record<string, string[]> = {};
    for (const problem of problems) {
      if (problem.node !== id) continue;
      const field = problem.field ?? "";
      (errors[field] ??= []).push(plainMessage(problem.message));
    }
    const nodes = doc.nodes.filter((node) => node.id !== id);
    return { meta, timezone: account?.timezone ?? "UTC", errors, paths, nodes };
  }, [problems, id, meta, account, paths, doc.nodes]);

  if (!original || !draft) return null;
  const types = isTrigger ? meta.triggers : meta.actions;
  const type = types[draft.type];
  const general = env.errors[""] ?? [];
  const typeErrors = [...(env.errors.type ?? []), ...(env.errors.config ?? [])];

  const apply = () => {
    store.getState().apply((current) => {
      let next = current;
      if (isTrigger && draft.type !== current.trigger.type) next = changeTriggerType(next, meta, draft.type);
      return updateNode(next, meta, id, { ...draft, title: draft.title?.trim() ? draft.title.trim() : null });
    });
    close();
  };
  /** Back to the canvas, the focus on the node (so the keyboard goes on from where it was). */
  const close = () => {
    store.getState().edit(null);
    focusNode(id);
  };

  return (
    <aside className="side-panel node-editor" data-editing={id} aria-label="Edit node">
      <header>
        <h2>{isTrigger ? "Trigger" : (type?.title ?? draft.type)}</h2>
        <span className="muted">id {id}</span>
      </header>
      <FormCtx.Provider value={env}>
        <form
          className="form"
          onKeyDown={(event) => {
            if (event.key === "Escape") close();
          }}
          onSubmit={(event) => {
            event.preventDefault();
            apply();
          }}
        >
          {isTrigger && (
            <div className="field">
              <label className="label" htmlFor="trigger-type">
                Trigger type
              </label>
              <select
                id="trigger-type"
                name="trigger-type"
                value={draft.type}
                onChange={(event) => {
                  const next = meta.triggers[event.target.value];
                  setDraft({ ...draft, type: next.type, config: defaultConfig(meta, next) });
                }}
              >
                {Object.values(meta.triggers).map((trigger) => (
                  <option key={trigger.type} value={trigger.type}>
                    {trigger.title}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div className="field">
            <label className="label" htmlFor="node-title">
              Title
            </label>
            <input
              id="node-title"
              name="title"
              autoFocus
              placeholder={type?.title}
              maxLength={200}
              value={draft.title ?? ""}
              onChange={(event) => setDraft({ ...draft, title: event.target.value })}
            />
          </div>
          {type?.description && <p className="help">{type.description}</p>}
          {[...general, ...typeErrors].map((message, index) => (
            <div key={index} className="field-error" role="alert">
              {message}
            </div>
          ))}
          {type ? (
            <ObjectFields schema={type.config} value={draft.config} path="config" onChange={(config) => setDraft({ ...draft, config })} />
          ) : (
            <p className="banner error">This server does not know the type {draft.type}.</p>
          )}
          <div className="buttons">
            <button type="submit" className="primary" data-action="apply">
              Apply
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      </FormCtx.Provider>
      {type && <PreviewPanel root={meta.root} schema={type.config} type={draft.type} config={draft.config} campaignId={campaignId} />}
    </aside>
  );
}
