/** The canvas: React Flow showing the nodes and edges derived from the document (toCanvas). Every change
 * the user makes goes back to the store as an edit of the document. */
import { useCallback, useMemo, useState, type KeyboardEvent } from "react";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type EdgeChange,
  type IsValidConnection,
  type NodeChange,
  type OnConnect,
  type OnConnectEnd,
} from "@xyflow/react";
import { toCanvas, type CanvasEdge, type CanvasNode } from "../model/graph";
import { connectionProblem } from "../model/ops";
import { nodeName } from "../model/store";
import { useApp } from "../lib/context";
import { useEditor, useEditorStore } from "./context";
import { nodeTypes } from "./NodeView";
import { DRAG_TYPE } from "./Palette";

type Size = { width: number; height: number };

export function Canvas() {
  const { meta } = useApp();
  const store = useEditorStore();
  const doc = useEditor((state) => state.history.present);
  const selection = useEditor((state) => state.selection);
  const stats = useEditor((state) => state.stats);
  const armed = useEditor((state) => state.armed);
  const flow = useReactFlow();
  const [sizes, setSizes] = useState<Record<string, Size>>({});
  const hint = useEditor((state) => state.hint);

  const canvas = useMemo(() => toCanvas(doc, meta, selection), [doc, meta, selection]);
  // React Flow measures nodes; their sizes are view state kept beside the derived nodes.
  const nodes = useMemo<CanvasNode[]>(
    () =>
      canvas.nodes.map((node) => {
        const named = { ...node, ariaLabel: `${nodeName(doc, meta, node.id)}: Enter edits, Space selects` };
        return sizes[node.id] ? { ...named, measured: sizes[node.id] } : named;
      }),
    [canvas, sizes, doc, meta],
  );
  const edges = useMemo<CanvasEdge[]>(
    () =>
      canvas.edges.map((edge) => {
        const count = stats[edge.source]?.ports[edge.data!.port];
        const label = [edge.data!.title, count !== undefined ? String(count) : null].filter(Boolean).join(" · ");
        return label ? { ...edge, label, labelShowBg: true } : edge;
      }),
    [canvas, stats],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<CanvasNode>[]) => {
      const moves: Record<string, { x: number; y: number }> = {};
      let dragging = false;
      let selectionChanged = false;
      const selected = new Set(store.getState().selection.nodes);
      const resized: Record<string, Size> = {};
      for (const change of changes) {
        if (change.type === "position" && change.position) {
          moves[change.id] = change.position;
          dragging ||= !!change.dragging;
        } else if (change.type === "select") {
          selectionChanged = true;
          if (change.selected) selected.add(change.id);
          else selected.delete(change.id);
        } else if (change.type === "dimensions" && change.dimensions) {
          resized[change.id] = change.dimensions;
        }
      }
      if (Object.keys(resized).length) setSizes((previous) => ({ ...previous, ...resized }));
      if (Object.keys(moves).length) store.getState().move(moves, dragging);
      if (selectionChanged) store.getState().select({ nodes: selected, edges: store.getState().selection.edges });
    },
    [store],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<CanvasEdge>[]) => {
      const selected = new Set(store.getState().selection.edges);
      let changed = false;
      for (const change of changes) {
        if (change.type !== "select") continue;
        changed = true;
        if (change.selected) selected.add(change.id);
        else selected.delete(change.id);
      }
      if (changed) store.getState().select({ nodes: store.getState().selection.nodes, edges: selected });
    },
    [store],
  );

  const isValidConnection = useCallback<IsValidConnection>(
    (connection) => connectionProblem(store.getState().history.present, meta, connection) === null,
    [store, meta],
  );

  // a line drawn with the mouse shows itself: only a refusal needs words
  const onConnect = useCallback<OnConnect>(
    (connection) => {
      if (store.getState().tryConnect(connection)) store.getState().setHint(null);
    },
    [store],
  );

  // a line dropped on a node that refuses it: say why (a valid one is made by onConnect)
  const onConnectEnd = useCallback<OnConnectEnd>(
    (_, state) => {
      if (state.isValid !== false || !state.fromNode || !state.toNode || state.fromNode.id === state.toNode.id) return;
      store.getState().tryConnect({ source: state.fromNode.id, target: state.toNode.id, sourceHandle: state.fromHandle?.id });
    },
    [store],
  );

  /** Keys on a node: Enter opens its form, or ends a connection picked on an output dot. */
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const target = event.target as HTMLElement;
    if (event.key === "Escape" && store.getState().connecting) {
      store.setState({ connecting: null, hint: null });
      return;
    }
    if (event.key !== "Enter" || !target.classList.contains("react-flow__node")) return;
    const id = target.getAttribute("data-id");
    if (!id) return;
    event.preventDefault();
    event.stopPropagation(); // not React Flow's own Enter, which toggles the selection (Space still does)
    if (store.getState().connecting) store.getState().finishConnect(id);
    else store.getState().edit(id);
  };

  const placeAt = (type: string, clientX: number, clientY: number) => {
    const at = flow.screenToFlowPosition({ x: clientX, y: clientY });
    store.getState().place(type, { x: at.x - 90, y: at.y - 30 });
  };

  return (
    <div
      className={`canvas ${armed ? "placing" : ""}`}
      data-testid="canvas"
      onKeyDownCapture={onKeyDown}
      onDragOver={(event) => {
        if (event.dataTransfer.types.includes(DRAG_TYPE)) {
          event.preventDefault();
          event.dataTransfer.dropEffect = "copy";
        }
      }}
      onDrop={(event) => {
        const type = event.dataTransfer.getData(DRAG_TYPE);
        if (!type || !meta.actions[type]) return;
        event.preventDefault();
        placeAt(type, event.clientX, event.clientY);
      }}
    >
      <ReactFlow<CanvasNode, CanvasEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        onDelete={({ nodes: gone, edges: cut }) =>
          store.getState().remove(
            gone.map((node) => node.id),
            cut.map((edge) => edge.id),
          )
        }
        onNodeDragStop={() => store.setState({ dragging: false })}
        onNodeDoubleClick={(_, node) => store.getState().edit(node.id)}
        onNodeContextMenu={(event, node) => {
          event.preventDefault();
          store.getState().select({ nodes: new Set([node.id]), edges: new Set() });
          store.getState().openMenu({ kind: "node", id: node.id, x: event.clientX, y: event.clientY });
        }}
        onEdgeContextMenu={(event, edge) => {
          event.preventDefault();
          store.getState().openMenu({ kind: "edge", id: edge.id, x: event.clientX, y: event.clientY });
        }}
        onPaneClick={(event) => {
          store.getState().openMenu(null);
          const type = store.getState().armed;
          if (type) placeAt(type, event.clientX, event.clientY);
        }}
        onPaneContextMenu={(event) => {
          event.preventDefault();
          store.getState().openMenu(null);
        }}
        deleteKeyCode={["Delete", "Backspace"]}
        multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        zoomOnDoubleClick={false}
        connectOnClick={false}
        fitView
        fitViewOptions={{ padding: 0.25, maxZoom: 1 }}
        minZoom={0.2}
        maxZoom={2}
        proOptions={{ hideAttribution: false }}
      >
        <Background gap={20} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable nodeStrokeWidth={3} />
      </ReactFlow>
      {hint && (
        <div className="canvas-hint" data-testid="canvas-hint" onClick={() => store.getState().setHint(null)}>
          {hint}
        </div>
      )}
      <div className="sr-only" role="status" aria-live="polite">
        {hint}
      </div>
    </div>
  );
}
