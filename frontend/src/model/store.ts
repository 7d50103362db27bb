/** The editor's state: the document (with its undo history) is the source of truth; selection, the menu,
 * the node being edited and the counters are view state beside it. The canvas is derived (see graph.ts). */
import { createStore } from "zustand/vanilla";
import { copyNodes, pasteNodes, readClip, shifted, writeClip, type ClipStorage } from "./clipboard";
import { findNode, type CampaignDoc, type Position } from "./doc";
import { NO_SELECTION, type Selection } from "./graph";
import * as history from "./history";
import { portsOf, portTitle, type EditorMeta } from "./meta";
import { addNode, connect, connectionProblem, deleteElements, moveNodes } from "./ops";

export interface Problem {
  node: string | null;
  field: string | null;
  message: string;
}

export interface NodeStats {
  node_id: string;
  entered: number;
  performed: number;
  ports: Record<string, number>;
  dropped: Record<string, number>;
  waiting: number;
}

/** An output chosen with the keyboard, waiting for the node it should lead to. */
export interface Connecting {
  source: string;
  port: string;
}

export type Menu =
  | { kind: "node"; id: string; x: number; y: number }
  | { kind: "edge"; id: string; x: number; y: number };

export interface EditorState {
  meta: EditorMeta;
  campaignId: number | null;
  status: string;
  history: history.History<CampaignDoc>;
  /** The document as last loaded or saved, serialised: the editor is dirty when the present differs. */
  saved: string;
  selection: Selection;
  problems: Problem[];
  stats: Record<string, NodeStats>;
  /** The action type chosen in the palette, waiting for a click on the canvas. */
  armed: string | null;
  editing: string | null;
  menu: Menu | null;
  dragging: boolean;
  /** An output picked with the keyboard (Enter on its dot), waiting for Enter on the node to connect it to. */
  connecting: Connecting | null;
  /** What the canvas tells the user: why a connection was refused, what a key did, what to do next. */
  hint: string | null;

  load(doc: CampaignDoc, campaignId: number | null, status: string): void;
  markSaved(doc: CampaignDoc, status?: string): void;
  apply(edit: (doc: CampaignDoc) => CampaignDoc): void;
  place(type: string, at: Position): string;
  move(moves: Record<string, Position>, dragging: boolean): void;
  remove(nodeIds: Iterable<string>, edgeIds?: Iterable<string>): void;
  select(selection: Selection): void;
  undo(): void;
  redo(): void;
  copy(storage: ClipStorage, ids?: Iterable<string>): boolean;
  paste(storage: ClipStorage, at?: Position): string[];
  setProblems(problems: Problem[]): void;
  setStats(stats: NodeStats[]): void;
  setStatus(status: string): void;
  arm(type: string | null): void;
  edit(id: string | null): void;
  openMenu(menu: Menu | null): void;
  setHint(hint: string | null): void;
  /** Pick an output to connect (keyboard); picking the same one again cancels. */
  startConnect(source: string, port: string): void;
  /** Connect the picked output to ``target``; false (and the hint says why) when the connection is refused. */
  finishConnect(target: string): boolean;
  /** Try a connection (mouse or keyboard): made, or refused with the reason in the hint. */
  tryConnect(connection: { source: string; target: string; sourceHandle?: string | null }): boolean;
}

/** How the canvas names a node to the user: its title, else its type's title. */
export function nodeName(doc: CampaignDoc, meta: EditorMeta, id: string): string {
  const node = findNode(doc, id);
  if (!node) return id;
  const trigger = node === doc.trigger;
  const type = (trigger ? meta.triggers : meta.actions)[node.type];
  return node.title || type?.title || node.type;
}

export const isDirty = (state: Pick<EditorState, "history" | "saved">): boolean =>
  JSON.stringify(state.history.present) !== state.saved;

function existing(doc: CampaignDoc, selection: Selection): Selection {
  const ids = new Set([doc.trigger.id, ...doc.nodes.map((node) => node.id)]);
  return { nodes: new Set([...selection.nodes].filter((id) => ids.has(id))), edges: new Set() };
}

export function createEditorStore(meta: EditorMeta, doc: CampaignDoc, campaignId: number | null = null, status = "draft") {
  return createStore<EditorState>()((set, get) => ({
    meta,
    campaignId,
    status,
    history: history.start(doc),
    saved: JSON.stringify(doc),
    selection: NO_SELECTION,
    problems: [],
    stats: {},
    armed: null,
    editing: null,
    menu: null,
    dragging: false,
    connecting: null,
    hint: null,

    load: (next, id, nextStatus) =>
      set({
        history: history.start(next),
        saved: JSON.stringify(next),
        campaignId: id,
        status: nextStatus,
        selection: NO_SELECTION,
        problems: [],
        editing: null,
        menu: null,
      }),
    markSaved: (saved, nextStatus) =>
      set((state) => ({ saved: JSON.stringify(saved), status: nextStatus ?? state.status, problems: [] })),
    apply: (edit) =>
      set((state) => {
        const next = edit(state.history.present);
        return next === state.history.present ? {} : { history: history.push(state.history, next) };
      }),
    place: (type, at) => {
      const { doc, id } = addNode(get().history.present, get().meta, type, at);
      set((state) => ({
        history: history.push(state.history, doc),
        selection: { nodes: new Set([id]), edges: new Set() },
        armed: null,
      }));
      return id;
    },
    move: (moves, dragging) =>
      set((state) => {
        const next = moveNodes(state.history.present, moves);
        // one undo step per drag: taken when the drag starts, the rest of the drag replaces the present
        const step = state.dragging ? history.replace(state.history, next) : history.push(state.history, next);
        return { history: step, dragging };
      }),
    remove: (nodeIds, edgeIds = []) =>
      set((state) => {
        const next = deleteElements(state.history.present, state.meta, nodeIds, edgeIds);
        if (next === state.history.present) return {};
        return { history: history.push(state.history, next), selection: existing(next, state.selection), menu: null };
      }),
    select: (selection) => set({ selection }),
    undo: () =>
      set((state) => {
        const step = history.undo(state.history);
        return { history: step, selection: existing(step.present, state.selection) };
      }),
    redo: () =>
      set((state) => {
        const step = history.redo(state.history);
        return { history: step, selection: existing(step.present, state.selection) };
      }),
    copy: (storage, ids) => {
      const clip = copyNodes(get().history.present, ids ?? get().selection.nodes);
      if (clip === null) return false;
      writeClip(storage, clip);
      return true;
    },
    paste: (storage, at) => {
      const clip = readClip(storage);
      if (clip === null || clip.nodes.length === 0) return [];
      const { doc, ids } = pasteNodes(get().history.present, clip, at);
      writeClip(storage, shifted(clip));
      set((state) => ({
        history: history.push(state.history, doc),
        selection: { nodes: new Set(ids), edges: new Set() },
        menu: null,
      }));
      return ids;
    },
    setProblems: (problems) => set({ problems }),
    setStats: (stats) => set({ stats: Object.fromEntries(stats.map((item) => [item.node_id, item])) }),
    setStatus: (next) => set({ status: next }),
    arm: (type) => set({ armed: type }),
    edit: (id) => set({ editing: id, menu: null }),
    openMenu: (menu) => set({ menu }),
    setHint: (hint) => set({ hint }),
    startConnect: (source, port) => {
      const current = get().connecting;
      if (current && current.source === source && current.port === port) {
        set({ connecting: null, hint: null });
        return;
      }
      const { meta: types } = get();
      const doc = get().history.present;
      const node = findNode(doc, source);
      const several = !!node && portsOf(types, node, node === doc.trigger).length > 1;
      const output = node && several ? `“${portTitle(types, node, node === doc.trigger, port)}” of ` : "";
      set({
        connecting: { source, port },
        hint: `Connecting ${output}${nodeName(doc, types, source)}: move to the node it should lead to and press Enter (Esc cancels).`,
      });
    },
    finishConnect: (target) => {
      const connecting = get().connecting;
      if (!connecting) return false;
      const made = get().tryConnect({ source: connecting.source, target, sourceHandle: connecting.port });
      if (made) set({ connecting: null });
      return made;
    },
    tryConnect: (connection) => {
      const { meta: types } = get();
      const doc = get().history.present;
      const problem = connectionProblem(doc, types, connection);
      if (problem !== null) {
        set({
          hint: `Not connected: ${nodeName(doc, types, connection.source)} → ${nodeName(doc, types, connection.target)}: ${problem}.`,
        });
        return false;
      }
      set((state) => ({
        history: history.push(state.history, connect(state.history.present, types, connection)),
        hint: `Connected ${nodeName(doc, types, connection.source)} → ${nodeName(doc, types, connection.target)}.`,
      }));
      return true;
    },
  }));
}

export type EditorStore = ReturnType<typeof createEditorStore>;
