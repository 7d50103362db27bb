/** One campaign in the editor: loads it, then hands a store to the editor. */
import { useEffect, useState } from "react";
import { api } from "../lib/api";
import { useApp } from "../lib/context";
import { Editor } from "../editor/Editor";
import { EditorCtx } from "../editor/context";
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

  if (error) return <div className="banner error">{error}</div>;
  if (!store) return <div className="loading">Loading campaign…</div>;
  return (
    <EditorCtx.Provider value={store}>
      <Editor />
    </EditorCtx.Provider>
  );
}
