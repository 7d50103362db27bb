/** The action palette, in the groups and order the engine serves. Drag an action onto the canvas, or click it and then click the canvas. */
import { paletteGroups } from "../model/meta";
import { useApp } from "../lib/context";
import { useEditor } from "./context";

export const DRAG_TYPE = "application/x-tidings-action";

export function Palette() {
  const { meta } = useApp();
  const armed = useEditor((state) => state.armed);
  const arm = useEditor((state) => state.arm);
  return (
    <aside className="palette" aria-label="Actions">
      {paletteGroups(meta).map(([group, types]) => (
        <section key={group.id} data-group={group.id}>
          <h3>{group.title}</h3>
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
              onClick={() => arm(armed === type.type ? null : type.type)}
            >
              {type.title}
            </button>
          ))}
        </section>
      ))}
      {armed && <p className="hint">Click the canvas to place it · Esc cancels</p>}
    </aside>
  );
}
