/** The action palette, in the groups and order the engine serves. Drag an action onto the canvas, or click it and
 * then click the canvas. With the keyboard, Enter on an action places it after the selected node (connected to
 * that node's first free output) or, with nothing selected, in the middle of the canvas; the new node gets the
 * focus, so Enter then opens its form. */
import { useReactFlow } from "@xyflow/react";
import { paletteGroups } from "../model/meta";
import { positionsOf } from "../model/graph";
import { findNode, type CampaignDoc, type Position } from "../model/doc";
import { freePort } from "../model/ops";
import { nodeName } from "../model/store";
import { useApp } from "../lib/context";
import { useEditor, useEditorStore } from "./context";
import { focusNode } from "./focus";

export const DRAG_TYPE = "application/x-tidings-action";
const STEP = { x: 260, y: 130 };

/** A free spot to the right of ``after``: down the column until no node is that close. */
function spotAfter(doc: CampaignDoc, after: string): Position {
  const positions = positionsOf(doc);
  const origin = positions[after];
  const at = { x: origin.x + STEP.x, y: origin.y };
  const taken = Object.values(positions);
  while (taken.some((p) => Math.abs(p.x - at.x) < STEP.x * 0.8 && Math.abs(p.y - at.y) < STEP.y * 0.8)) at.y += STEP.y;
  return at;
}

export function Palette() {
  const { meta } = useApp();
  const store = useEditorStore();
  const flow = useReactFlow();
  const armed = useEditor((state) => state.armed);
  const arm = useEditor((state) => state.arm);

  const placeByKeyboard = (type: string, title: string) => {
    const state = store.getState();
    const selected = [...state.selection.nodes].filter((id) => findNode(state.history.present, id));
    const after = selected.length === 1 ? selected[0] : null;
    let at: Position;
    if (after) {
      at = spotAfter(state.history.present, after);
    } else {
      const box = document.querySelector('[data-testid="canvas"]')?.getBoundingClientRect();
      const centre = flow.screenToFlowPosition({ x: box ? box.left + box.width / 2 : 400, y: box ? box.top + box.height / 2 : 300 });
      at = { x: centre.x - 90, y: centre.y - 30 };
    }
    const id = state.place(type, at);
    const doc = store.getState().history.present;
    const port = after ? freePort(doc, meta, after, id) : null;
    const connected = after && port !== null && store.getState().tryConnect({ source: after, target: id, sourceHandle: port });
    const where = connected ? ` after ${nodeName(doc, meta, after)}, connected` : "";
    store.getState().setHint(`${title} placed${where}. Press Enter to edit it.`);
    focusNode(id);
  };

  return (
    <aside className="palette" aria-label="Actions">
      {paletteGroups(meta).map(([group, types]) => (
        <section key={group.id} data-group={group.id}>
          <h2>{group.title}</h2>
          {types.map((type) => (
            <button
              key={type.type}
              type="button"
              className={`palette-item group-${group.id} ${armed === type.type ? "armed" : ""}`}
              data-palette-type={type.type}
              draggable
              title={type.description ?? `${type.title}: drag onto the canvas, or click here and then on the canvas`}
              onDragStart={(event) => {
                event.dataTransfer.setData(DRAG_TYPE, type.type);
                event.dataTransfer.effectAllowed = "copy";
              }}
              onClick={(event) => {
                // a click made with Enter or Space (detail 0) places the action at once: there is no pointer to aim
                if (event.detail === 0) placeByKeyboard(type.type, type.title);
                else arm(armed === type.type ? null : type.type);
              }}
            >
              {type.title}
            </button>
          ))}
        </section>
      ))}
      <p className="hint">
        {armed ? "Click the canvas to place it · Esc cancels" : "Enter places an action after the selected node (Space on a node selects it)"}
      </p>
    </aside>
  );
}
