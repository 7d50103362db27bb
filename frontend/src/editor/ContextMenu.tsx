/** Right-click menus: a node's Edit / Copy / Delete (the trigger: Edit); a connection's Delete and, on a line out of
 * Check email status, the status it stands for. */
import { useEffect } from "react";
import { criteriaOf, setCriterion } from "../model/ops";
import { useEditor, useEditorStore } from "./context";

export function ContextMenu() {
  const store = useEditorStore();
  const menu = useEditor((state) => state.menu);
  const doc = useEditor((state) => state.history.present);
  const meta = useEditor((state) => state.meta);
  const triggerId = doc.trigger.id;

  useEffect(() => {
    if (!menu) return;
    const close = (event: KeyboardEvent) => event.key === "Escape" && store.getState().openMenu(null);
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, [menu, store]);
  if (!menu) return null;

  const criteria = menu.kind === "edge" ? criteriaOf(doc, meta, menu.id) : null;
  const items: [string, () => void][] =
    menu.kind === "edge"
      ? [
          ...(criteria?.choices ?? []).map(
            (choice): [string, () => void] => [
              `${choice.id === criteria?.current ? "✓ " : ""}When ${choice.title}`,
              () => (store.getState().apply((current) => setCriterion(current, meta, menu.id, choice.id)), store.getState().openMenu(null)),
            ],
          ),
          ["Delete connection", () => store.getState().remove([], [menu.id])],
        ]
      : [
          [menu.id === triggerId ? "Edit trigger" : "Edit", () => store.getState().edit(menu.id)],
          ...(menu.id === triggerId
            ? []
            : ([
                ["Copy", () => (store.getState().copy(window.localStorage, [menu.id]), store.getState().openMenu(null))],
                ["Delete", () => store.getState().remove([menu.id])],
              ] as [string, () => void][])),
        ];
  return (
    <>
      <div className="menu-backdrop" onClick={() => store.getState().openMenu(null)} onContextMenu={(e) => (e.preventDefault(), store.getState().openMenu(null))} />
      <ul className="context-menu" role="menu" style={{ left: menu.x, top: menu.y }} data-menu={menu.kind}>
        {items.map(([label, run]) => (
          <li key={label}>
            <button type="button" role="menuitem" onClick={run}>
              {label}
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
