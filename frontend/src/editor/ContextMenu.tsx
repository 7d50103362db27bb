/** Right-click menus: a node's Edit / Copy / Delete (the trigger: Edit), a connection's Delete. */
import { useEffect } from "react";
import { useEditor, useEditorStore } from "./context";

export function ContextMenu() {
  const store = useEditorStore();
  const menu = useEditor((state) => state.menu);
  const triggerId = useEditor((state) => state.history.present.trigger.id);

  useEffect(() => {
    if (!menu) return;
    const close = (event: KeyboardEvent) => event.key === "Escape" && store.getState().openMenu(null);
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, [menu, store]);
  if (!menu) return null;

  const items: [string, () => void][] =
    menu.kind === "edge"
      ? [["Delete connection", () => store.getState().remove([], [menu.id])]]
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
