/** The campaign editor: toolbar (save, lifecycle, undo / redo, layout), palette, canvas, side panels. */
import { useCallback, useEffect, useState } from "react";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { api, type Affected } from "../lib/api";
import { useApp, useMayChange } from "../lib/context";
import { setLeaveGuard } from "../lib/router";
import { autoLayout } from "../model/ops";
import { isDirty } from "../model/store";
import { describeProblem } from "../model/problems";
import { Canvas } from "./Canvas";
import { ContextMenu } from "./ContextMenu";
import { useEditor, useEditorStore } from "./context";
import { dryRun, hasRun, save, transition, verbsFor, type Verb } from "./Lifecycle";
import { NodeEditor } from "./NodeEditor";
import { Palette } from "./Palette";
import { SettingsPanel } from "./SettingsPanel";

export const STATS_INTERVAL_MS = 1000;

export function Editor() {
  return (
    <ReactFlowProvider>
      <EditorBody />
    </ReactFlowProvider>
  );
}

type Dialog =
  | { kind: "confirm-save"; affected: Affected }
  | { kind: "leave"; go: () => void }
  | null;

function isTyping(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return !!element && (["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName) || element.isContentEditable);
}

function EditorBody() {
  const store = useEditorStore();
  const flow = useReactFlow();
  const doc = useEditor((state) => state.history.present);
  const status = useEditor((state) => state.status);
  const campaignId = useEditor((state) => state.campaignId);
  const dirty = useEditor(isDirty);
  const canUndo = useEditor((state) => state.history.past.length > 0);
  const canRedo = useEditor((state) => state.history.future.length > 0);
  const editing = useEditor((state) => state.editing);
  const problems = useEditor((state) => state.problems);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const { caller, meta } = useApp();
  const mayChange = useMayChange("campaigns");

  // keyboard: copy / paste (through localStorage: other tabs too), undo / redo, Escape
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        store.getState().arm(null);
        store.getState().openMenu(null);
        if (store.getState().connecting) store.setState({ connecting: null, hint: null });
        return;
      }
      if (isTyping(event.target) || !(event.ctrlKey || event.metaKey)) return;
      const key = event.key.toLowerCase();
      if (key === "c") {
        if (store.getState().copy(window.localStorage)) setNotice({ ok: true, text: "Copied." });
      } else if (key === "v") {
        const pasted = store.getState().paste(window.localStorage);
        if (pasted.length === 0) return;
      } else if (key === "z" && !event.shiftKey) {
        store.getState().undo();
      } else if (key === "y" || (key === "z" && event.shiftKey)) {
        store.getState().redo();
      } else {
        return;
      }
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [store]);

  // unsaved changes: the browser asks before closing the tab; the app asks before leaving the editor
  useEffect(() => {
    if (!dirty) return;
    const beforeUnload = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", beforeUnload);
    setLeaveGuard((go) => {
      setDialog({ kind: "leave", go });
      return false;
    });
    return () => {
      window.removeEventListener("beforeunload", beforeUnload);
      setLeaveGuard(null);
    };
  }, [dirty]);

  // live counters on a campaign that has run
  useEffect(() => {
    if (status === "draft" || campaignId === null) return;
    let stopped = false;
    const poll = () =>
      api.stats(campaignId).then(
        (stats) => !stopped && store.getState().setStats(stats),
        () => undefined,
      );
    void poll();
    const timer = window.setInterval(poll, STATS_INTERVAL_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [status, campaignId, store]);

  const runSave = useCallback(async () => {
    setBusy(true);
    const result = await save(store);
    setBusy(false);
    setDialog(null);
    setNotice(result.ok ? { ok: true, text: "Saved." } : { ok: false, text: `Not saved: ${result.message}` });
    return result.ok;
  }, [store]);

  const onSave = async () => {
    setNotice(null);
    if (hasRun(store.getState().status)) {
      try {
        setDialog({ kind: "confirm-save", affected: await dryRun(store) });
      } catch (error) {
        const result = await save(store); // the dry run refused the document: saving shows its problems
        if (!result.ok) setNotice({ ok: false, text: `Not saved: ${result.message}` });
        else setNotice({ ok: false, text: String(error) });
      }
      return;
    }
    await runSave();
  };

  const onVerb = async (verb: Verb) => {
    setNotice(null);
    if (isDirty(store.getState()) && !hasRun(store.getState().status) && !(await runSave())) return;
    const failure = await transition(store, verb);
    setNotice(failure ? { ok: false, text: failure } : { ok: true, text: `Campaign ${store.getState().status}.` });
  };

  const general = problems.filter((problem) => problem.node === null || !doc.nodes.some((n) => n.id === problem.node) && problem.node !== doc.trigger.id);
  return (
    <div className="editor" data-campaign={campaignId ?? ""} data-status={status}>
      <div className="editor-toolbar">
        <a href="#/campaigns" className="back">
          ← Campaigns
        </a>
        <h1 className="campaign-title">
          <button type="button" className="campaign-name" onClick={() => setSettingsOpen(true)} title="Name and settings">
            {doc.name}
          </button>
        </h1>
        <span className={`status status-${status}`} data-testid="status">
          {status}
        </span>
        {dirty && <span className="unsaved" data-testid="unsaved">unsaved changes</span>}
        <span className="spacer" />
        <button type="button" onClick={() => store.getState().undo()} disabled={!canUndo} title="Undo (Ctrl+Z)">
          Undo
        </button>
        <button type="button" onClick={() => store.getState().redo()} disabled={!canRedo} title="Redo (Ctrl+Y)">
          Redo
        </button>
        <button
          type="button"
          onClick={() => {
            store.getState().apply(autoLayout);
            window.setTimeout(() => void flow.fitView({ padding: 0.25, duration: 200 }), 50);
          }}
        >
          Auto-layout
        </button>
        <button type="button" onClick={() => void flow.fitView({ padding: 0.25, duration: 200 })}>
          Fit view
        </button>
        <button type="button" onClick={() => setSettingsOpen(true)}>
          Settings
        </button>
        <button
          type="button"
          className="primary"
          data-action="save"
          disabled={!mayChange || busy || (!dirty && problems.length === 0)}
          onClick={() => void onSave()}
        >
          Save
        </button>
        {verbsFor(status).map(({ verb, label }) => (
          <button key={verb} type="button" data-action={verb} disabled={!mayChange || busy} onClick={() => void onVerb(verb)}>
            {label}
          </button>
        ))}
      </div>
      {!mayChange && (
        <div className="banner" data-testid="view-only">
          View only: as {caller.role === "analyst" ? "an analyst" : `a ${caller.role ?? "key"}`}, you can look at campaigns
          but not save or start them.
        </div>
      )}
      {notice && (
        <div className={`banner ${notice.ok ? "ok" : "error"}`} data-testid="notice" onClick={() => setNotice(null)}>
          {notice.text}
        </div>
      )}
      {general.length > 0 && (
        <div className="banner error" data-testid="document-problems">
          {general.map((problem, index) => (
            <div key={index}>{describeProblem(meta, doc, problem)}</div>
          ))}
        </div>
      )}
      <div className="editor-body">
        <Palette />
        <Canvas />
        {editing && <NodeEditor key={editing} id={editing} />}
        {settingsOpen && !editing && <SettingsPanel onClose={() => setSettingsOpen(false)} />}
      </div>
      <ContextMenu />
      {dialog?.kind === "confirm-save" && (
        <div className="modal" role="dialog" aria-label="Save an active campaign">
          <div className="modal-box">
            <h2>Save a new version?</h2>
            <p>Customers inside the campaign move on by node id:</p>
            <ul data-testid="affected">
              <li>
                <b>{dialog.affected.stay}</b> stay where they are
              </li>
              <li>
                <b>{dialog.affected.rerouted}</b> move to the first child of a removed node
              </li>
              <li>
                <b>{dialog.affected.dropped}</b> leave the campaign
              </li>
            </ul>
            <div className="buttons">
              <button type="button" className="primary" data-action="confirm-save" onClick={() => void runSave()}>
                Save
              </button>
              <button type="button" onClick={() => setDialog(null)}>
                Cancel
              </button>
            </div>
          </div>
        </div>
      )}
      {dialog?.kind === "leave" && (
        <div className="modal" role="dialog" aria-label="Unsaved changes">
          <div className="modal-box">
            <h2>Leave without saving?</h2>
            <p>The changes to this campaign are not saved.</p>
            <div className="buttons">
              <button type="button" onClick={() => setDialog(null)}>
                Stay
              </button>
              <button
                type="button"
                className="danger"
                data-action="leave"
                onClick={() => {
                  const go = dialog.go;
                  setDialog(null);
                  go();
                }}
              >
                Leave
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
