import { describe, expect, test } from "vitest";
import { CLIPBOARD_KEY, copyNodes, pasteNodes, readClip, type ClipStorage } from "./clipboard";
import { isDirty, createEditorStore } from "./store";
import { connect, connectionProblem, freePort } from "./ops";
import { loadMeta, node, triggerDoc } from "./testing";
import { layeredLayout } from "./layout";

const meta = loadMeta();

class MemoryStorage implements ClipStorage {
  items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

function branched() {
  const doc = triggerDoc(meta, [node(meta, "f1", "filter_customers"), node(meta, "w1", "wait"), node(meta, "e1", "send_email")]);
  doc.nodes[1].config = { amount: 3, unit: "hours" };
  doc.nodes[2].config = { ...doc.nodes[2].config, subject: "Hi", body_html: "<p>Hi</p>" };
  doc.edges = [
    { source: "trigger", target: "f1", source_port: null },
    { source: "f1", target: "w1", source_port: "yes" },
    { source: "w1", target: "e1", source_port: null },
  ];
  return doc;
}

describe("clipboard", () => {
  test("copies the selected actions with their settings and inner edges, never the trigger", () => {
    const clip = copyNodes(branched(), ["trigger", "w1", "e1"])!;
    expect(clip.nodes.map((n) => n.id)).toEqual(["w1", "e1"]);
    expect(clip.edges).toEqual([{ source: "w1", target: "e1", source_port: null }]);
    expect(copyNodes(branched(), ["trigger"])).toBeNull();
  });

  test("pasting gives new ids, remaps edges, keeps settings and offsets the copies", () => {
    const doc = branched();
    const { doc: pasted, ids } = pasteNodes(doc, copyNodes(doc, ["w1", "e1"])!);
    expect(ids).toEqual(["wait_1", "send_email_1"]);
    expect(pasted.nodes.slice(3).map((n) => n.config)).toEqual([doc.nodes[1].config, doc.nodes[2].config]);
    expect(pasted.edges.at(-1)).toEqual({ source: "wait_1", target: "send_email_1", source_port: null });
    expect(pasted.layout!.wait_1).toEqual({ x: doc.layout!.w1.x + 40, y: doc.layout!.w1.y + 40 });
    expect(new Set([pasted.trigger.id, ...pasted.nodes.map((n) => n.id)]).size).toBe(6);
  });

  test("ids taken in the target campaign are skipped", () => {
    const other = triggerDoc(meta, [node(meta, "wait_1", "wait"), node(meta, "wait_2", "wait")]);
    const { ids } = pasteNodes(other, copyNodes(branched(), ["w1"])!);
    expect(ids).toEqual(["wait_3"]);
  });

  test("a clip written by one editor is pasted by another through shared storage, again and again", () => {
    const storage = new MemoryStorage();
    const source = createEditorStore(meta, branched(), 1);
    source.getState().select({ nodes: new Set(["f1", "w1"]), edges: new Set() });
    expect(source.getState().copy(storage)).toBe(true);
    expect(storage.getItem(CLIPBOARD_KEY)).toContain("tidings.nodes");

    const target = createEditorStore(meta, triggerDoc(meta), 2);
    const first = target.getState().paste(storage);
    const second = target.getState().paste(storage);
    const doc = target.getState().history.present;
    expect(first).toEqual(["filter_customers_1", "wait_1"]);
    expect(second).toEqual(["filter_customers_2", "wait_2"]);
    expect(doc.edges).toContainEqual({ source: "filter_customers_2", target: "wait_2", source_port: "yes" });
    expect(doc.layout!.wait_2.x - doc.layout!.wait_1.x).toBe(40);
    expect([...target.getState().selection.nodes]).toEqual(second);
    expect(readClip(new MemoryStorage())).toBeNull();
  });
});

describe("undo / redo", () => {
  test("every edit is one step; undo and redo walk them; a new edit clears redo", () => {
    const store = createEditorStore(meta, triggerDoc(meta), 1);
    const s = () => store.getState();
    const id = s().place("wait", { x: 300, y: 0 });
    s().apply((doc) => connect(doc, meta, { source: "trigger", target: id }));
    expect(s().history.present.edges).toHaveLength(1);
    expect(isDirty(s())).toBe(true);

    s().undo();
    expect(s().history.present.edges).toHaveLength(0);
    s().undo();
    expect(s().history.present.nodes).toHaveLength(0);
    expect(isDirty(s())).toBe(false);
    s().undo(); // nothing left: no change
    expect(s().history.present.nodes).toHaveLength(0);

    s().redo();
    s().redo();
    expect(s().history.present.edges).toEqual([{ source: "trigger", target: id, source_port: null }]);
    s().undo();
    s().place("send_email", { x: 600, y: 0 });
    s().redo(); // cleared by the new edit
    expect(s().history.present.nodes.map((n) => n.type)).toEqual(["wait", "send_email"]);
    expect(s().history.present.edges).toHaveLength(0);
  });

  test("a drag is one undo step however many moves it has", () => {
    const store = createEditorStore(meta, triggerDoc(meta, [node(meta, "w1", "wait")]), 1);
    const s = () => store.getState();
    s().move({ w1: { x: 300, y: 10 } }, true);
    s().move({ w1: { x: 320, y: 30 } }, true);
    s().move({ w1: { x: 340.4, y: 50.6 } }, false);
    expect(s().history.present.layout!.w1).toEqual({ x: 340, y: 51 });
    s().undo();
    expect(s().history.present.layout!.w1).toEqual({ x: 280, y: 0 });
  });

  test("deleting nodes takes their edges; the trigger stays; undo restores all", () => {
    const store = createEditorStore(meta, branched(), 1);
    const s = () => store.getState();
    s().select({ nodes: new Set(["w1"]), edges: new Set() });
    s().remove(["w1", "trigger"]);
    expect(s().history.present.nodes.map((n) => n.id)).toEqual(["f1", "e1"]);
    expect(s().history.present.edges).toEqual([{ source: "trigger", target: "f1", source_port: null }]);
    expect(s().history.present.layout!.w1).toBeUndefined();
    expect(s().selection.nodes.size).toBe(0);
    s().undo();
    expect(s().history.present).toEqual(branched());
  });

  test("an edge is deleted by its canvas id", () => {
    const store = createEditorStore(meta, branched(), 1);
    store.getState().remove([], ["f1:yes->w1"]);
    expect(store.getState().history.present.edges.map((e) => e.target)).toEqual(["f1", "e1"]);
  });
});

describe("connections", () => {
  test("refuses edges into the trigger, loops, duplicates and unknown outputs", () => {
    const doc = branched();
    expect(connectionProblem(doc, meta, { source: "e1", target: "trigger" })).toMatch(/trigger/);
    expect(connectionProblem(doc, meta, { source: "e1", target: "f1" })).toMatch(/loop/);
    expect(connectionProblem(doc, meta, { source: "f1", sourceHandle: "yes", target: "w1" })).toMatch(/already/);
    expect(connectionProblem(doc, meta, { source: "f1", sourceHandle: "maybe", target: "e1" })).toMatch(/maybe/);
    expect(connectionProblem(doc, meta, { source: "f1", sourceHandle: "no", target: "e1" })).toBeNull();
  });

  test("a filter's edge names its port; a merge is two edges into one node", () => {
    let doc = branched();
    doc = connect(doc, meta, { source: "f1", sourceHandle: "no", target: "e1" });
    expect(doc.edges.at(-1)).toEqual({ source: "f1", target: "e1", source_port: "no" });
    expect(doc.edges.filter((e) => e.target === "e1")).toHaveLength(2);
  });

  test("variants are connected in order", () => {
    const doc = triggerDoc(meta, [node(meta, "ab", "ab_test"), node(meta, "w1", "wait")]);
    expect(connectionProblem(doc, meta, { source: "ab", sourceHandle: "variant-2", target: "w1" })).toMatch(/variant 1/);
    expect(connectionProblem(doc, meta, { source: "ab", sourceHandle: "variant-1", target: "w1" })).toBeNull();
  });
});

describe("auto-layout", () => {
  test("layers follow the longest path; the yes branch sits above the no branch; a merge comes after both", () => {
    let doc = branched();
    doc.nodes.push(node(meta, "e2", "send_email"));
    doc = connect(doc, meta, { source: "f1", sourceHandle: "no", target: "e2" });
    doc = connect(doc, meta, { source: "e2", target: "e1" });
    const p = layeredLayout(doc);
    expect(p.trigger.x).toBe(0);
    expect(p.f1.x).toBeGreaterThan(p.trigger.x);
    expect(p.w1.x).toBe(p.e2.x);
    expect(p.w1.y).toBeLessThan(p.e2.y);
    expect(p.e1.x).toBeGreaterThan(p.w1.x);
  });
});

test("an edge from check_email_status carries its output as the criterion", async () => {
  const { loadMeta, node, triggerDoc } = await import("./testing");
  const { connect } = await import("./ops");
  const meta = loadMeta();
  if (!meta.actions.check_email_status) return; // an engine without the action serves no such node
  const doc = triggerDoc(meta, [node(meta, "e1", "send_email"), node(meta, "c1", "check_email_status"), node(meta, "w1", "wait")]);
  doc.edges = [
    { source: "trigger", target: "e1", source_port: null },
    { source: "e1", target: "c1", source_port: null },
  ];
  const joined = connect(doc, meta, { source: "c1", target: "w1", sourceHandle: "read_clicked" });
  expect(joined.edges.at(-1)).toEqual({ source: "c1", target: "w1", source_port: "read_clicked", criteria: "read_clicked" });
});

describe("connecting with the keyboard", () => {
  test("an output picked, then a node: connected, and the hint names both by title", () => {
    const doc = branched();
    doc.nodes[0].title = "Lives in Riga?";
    const store = createEditorStore(meta, doc);
    store.getState().startConnect("f1", "no");
    expect(store.getState().hint).toContain("“");
    expect(store.getState().finishConnect("e1")).toBe(true);
    expect(store.getState().connecting).toBeNull();
    expect(store.getState().history.present.edges.at(-1)).toEqual({ source: "f1", target: "e1", source_port: "no" });
    expect(store.getState().hint).toBe("Connected Lives in Riga? → Send email.");
  });

  test("a loop is refused with the reason, and the pick stays for another target", () => {
    const store = createEditorStore(meta, branched());
    store.getState().startConnect("e1", "out");
    expect(store.getState().finishConnect("f1")).toBe(false);
    expect(store.getState().hint).toBe("Not connected: Send email → Filter customers: this connection would make a loop.");
    expect(store.getState().history.present.edges).toHaveLength(3);
    expect(store.getState().connecting).toEqual({ source: "e1", port: "out" });
    store.getState().startConnect("e1", "out"); // the same dot again cancels
    expect(store.getState().connecting).toBeNull();
  });

  test("the free output of a node: the next one not used yet, none when all lead somewhere", () => {
    const doc = branched();
    expect(freePort(doc, meta, "f1", "e1")).toBe("no");
    expect(freePort(doc, meta, "trigger", "e1")).toBeNull();
  });
});
