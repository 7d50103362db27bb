import { createContext, useContext } from "react";
import { useStore } from "zustand";
import type { EditorState, EditorStore } from "../model/store";

export const EditorCtx = createContext<EditorStore | null>(null);

export function useEditorStore(): EditorStore {
  const store = useContext(EditorCtx);
  if (!store) throw new Error("useEditor outside an editor");
  return store;
}

export function useEditor<T>(selector: (state: EditorState) => T): T {
  return useStore(useEditorStore(), selector);
}
