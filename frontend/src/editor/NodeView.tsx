/** One node on the canvas: blue input dot on the left, output dots on the right (green; a filter's yes is a
 * green plus and its no a red minus; one numbered dot per variant), a one-line summary of its settings,
 * its problems from the last save, and live counters on a campaign that has run. */
import { memo, type KeyboardEvent } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import type { Json } from "../model/doc";
import type { CanvasNode } from "../model/graph";
import { INPUT_HANDLE } from "../model/graph";
import { groupTitle, portTitle } from "../model/meta";
import { useApp } from "../lib/context";
import { describeProblem, fieldLabel, plainMessage } from "../model/problems";
import { useEditor, useEditorStore } from "./context";

const PORT_LABEL: Record<string, string> = { yes: "+", no: "−" };

function portClass(port: string, count: number): string {
  if (port === "no") return "port-no";
  if (port === "yes") return "port-yes";
  return count > 1 ? "port-variant" : "port-out";
}

export function summarize(config: Record<string, Json>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (value === null || value === "" || (Array.isArray(value) && value.length === 0)) continue;
    if (typeof value === "object" && !Array.isArray(value)) {
      const group = (value.all ?? value.any) as Json;
      if (Array.isArray(group)) parts.push(`${group.length} condition${group.length === 1 ? "" : "s"}`);
      else if (key === "condition") parts.push("1 condition");
      continue;
    }
    parts.push(Array.isArray(value) ? value.map(String).join(", ") : String(value).replace(/<[^>]*>/g, ""));
    if (parts.length >= 2) break;
  }
  const text = parts.join(" · ");
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

function NodeViewInner({ id, data, selected }: NodeProps<CanvasNode>) {
  const { meta } = useApp();
  const store = useEditorStore();
  const stats = useEditor((state) => state.stats[id]);
  const picked = useEditor((state) => (state.connecting?.source === id ? state.connecting.port : null));
  const allProblems = useEditor((state) => state.problems);
  // the document only while this node has problems to word (else a node would redraw on every edit)
  const doc = useEditor((state) => (state.problems.some((problem) => problem.node === id) ? state.history.present : null));
  const problems = allProblems.filter((problem) => problem.node === id);
  const type = (data.trigger ? meta.triggers : meta.actions)[data.node.type];
  const title = data.node.title || type?.title || data.node.type;
  const dropped = stats ? Object.values(stats.dropped).reduce((sum, n) => sum + n, 0) : 0;
  const ports = data.ports;
  /** Enter or Space on a dot: an output starts a connection, the input ends the one started. */
  const onHandleKey = (port: string | null) => (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    event.stopPropagation(); // not the node's own Enter (select, open the form)
    if (port === null) store.getState().finishConnect(id);
    else store.getState().startConnect(id, port);
  };

  return (
    <div
      className={`node ${data.trigger ? "trigger" : `group-${type?.group ?? "other"}`} ${selected ? "selected" : ""} ${
        problems.length ? "invalid" : ""
      }`}
      data-node-type={data.node.type}
      title={(doc && problems.map((problem) => describeProblem(meta, doc, problem)).join("\n")) || undefined}
    >
      {!data.trigger && (
        <Handle
          type="target"
          position={Position.Left}
          id={INPUT_HANDLE}
          className="handle-in"
          tabIndex={0}
          role="button"
          aria-label={`Input of ${title}: press Enter to connect the output picked before`}
          onKeyDown={onHandleKey(null)}
        />
      )}
      <div className="node-kind">{data.trigger ? "Trigger" : (type?.group && groupTitle(meta, type.group)) || "Action"}</div>
      <div className="node-title">{title}</div>
      {data.node.title && type && <div className="node-type">{type.title}</div>}
      <div className="node-summary">{summarize(data.node.config) || "\u00a0"}</div>
      {problems.length > 0 && doc && (
        <div className="node-problems" data-testid="node-problems">
          {problems[0].field ? `${fieldLabel(meta, doc, id, problems[0].field)}: ` : ""}
          {plainMessage(problems[0].message)}
          {problems.length > 1 ? ` (+${problems.length - 1})` : ""}
        </div>
      )}
      {stats && (
        <div className="counters" data-testid="counters">
          <span title="entered" data-counter="entered">
            in {stats.entered}
          </span>
          <span title="performed" data-counter="performed">
            ✓ {stats.performed}
          </span>
          <span title={Object.entries(stats.dropped).map(([r, n]) => `${r}: ${n}`).join("\n") || "dropped"} data-counter="dropped">
            ✕ {dropped}
          </span>
          <span title="waiting here now" data-counter="waiting">
            wait {stats.waiting}
          </span>
        </div>
      )}
      {ports.map((port, index) => (
        <Handle
          key={port}
          type="source"
          position={Position.Right}
          id={port}
          className={`handle-out ${portClass(port, ports.length)} ${picked === port ? "picked" : ""}`}
          style={{ top: `${((index + 1) * 100) / (ports.length + 1)}%` }}
          title={portTitle(meta, data.node, data.trigger, port)}
          tabIndex={0}
          role="button"
          aria-pressed={picked === port}
          aria-label={`Output${ports.length > 1 ? ` “${portTitle(meta, data.node, data.trigger, port)}”` : ""} of ${title}: press Enter, then Enter on the node to connect it to`}
          onKeyDown={onHandleKey(port)}
        >
          {ports.length > 1 && <span className="port-label">{PORT_LABEL[port] ?? index + 1}</span>}
        </Handle>
      ))}
    </div>
  );
}

export const NodeView = memo(NodeViewInner);

/** Module scope, so React Flow never sees a new object (STYLE 15). */
export const nodeTypes = { campaign: NodeView };
