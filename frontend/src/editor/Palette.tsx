/** The action palette, grouped. Drag an action onto the canvas, or click it and then click the canvas. */
import { paletteGroups } from "../model/meta";
import { useApp } from "../lib/context";
import { useEditor } from "./context";

export const DRAG_TYPE = "application/x-tidings-action";

const GROUP_TITLE: Record<string, string> = {
  flow: "Flow",
  audience: "Audience",
  messages: "Messages",
  loyalty: "Loyalty",
  limits: "Limits",
};

export function Palette() {
  const { meta } = useApp();
  const armed = useEditor((state) => state.armed);
  const arm = useEditor((state) => state.arm);
  return (
    <aside className="palette" aria-label="Actions">
      {paletteGroups(meta).map(([group, types]) => (
        <section key={group} data-group={group}>
          <h3>{GROUP_TITLE[group] ?? group}</h3>
          {types.map((type) => (
            <button
              key={type.type}
              type="button"
              className={`palette-item group-${group} ${armed === type.type ? "armed" : ""}`}
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
