/** One campaign in the editor: loads it, then hands a store to the editor. */
import { useEffect, useState } from "react";
import { api } from "../lib/api";
import { useApp } from "../lib/context";
import { Editor } from "../editor/Editor";
import { EditorCtx } from "../editor/context";
import type { CampaignDoc } from "../model/doc";
import { createEditorStore, type EditorStore } from "../model/store";

export function CampaignPage({ id }: { id: number }) {
  const { meta } = useApp();
  const [store, setStore] = useState<EditorStore | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.campaign(id).then(
      (detail) => setStore(createEditorStore(meta, detail.document, detail.id, detail.status)),
      (e: Error) => setError(e.message),
    );
  }, [id, meta]);

  useEffect(() => {
    if (!store) return;
    // for the browser console and the browser tests: read the document being edited, or replace it (one undo step)
    const inspect = window as unknown as { tidingsEditor?: { document: () => CampaignDoc; edit: (doc: CampaignDoc) => void } };
    inspect.tidingsEditor = {
      document: () => store.getState().history.present,
      edit: (doc) => store.getState().apply(() => doc),
    };
    return () => void delete inspect.tidingsEditor;
  }, [store]);

  if (error) return <div className="banner error">{error}</div>;
  if (!store) return <div className="loading">Loading campaign…</div>;
  return (
    <EditorCtx.Provider value={store}>
      <Editor />
    </EditorCtx.Provider>
  );
}
