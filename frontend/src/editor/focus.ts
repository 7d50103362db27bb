/** Moving the keyboard focus to a node of the canvas once React Flow has drawn it (a new node stays hidden until
 * it is measured, and a hidden element takes no focus): tried again on each frame for about half a second. */
export function focusNode(id: string, tries = 30): void {
  const element = document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
  element?.focus();
  if (document.activeElement !== element && tries > 0) window.requestAnimationFrame(() => focusNode(id, tries - 1));
}
