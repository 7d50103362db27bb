import { describe, expect, test } from "vitest";
import { edgePorts, positionsOf, toCanvas, toDocument } from "./graph";
import { defaultConfig, paletteGroups, portsOf } from "./meta";
import { readFileSync } from "node:fs";
import { connect } from "./ops";
import { loadMeta, node, triggerDoc } from "./testing";
import type { CampaignDoc } from "./doc";

const meta = loadMeta();

const roundTrip = (doc: CampaignDoc) => toDocument(toCanvas(doc, meta), doc);

describe("document ↔ canvas", () => {
  test("the engine serves at least the core actions and triggers", () => {
    expect(Object.keys(meta.actions)).toEqual(
      expect.arrayContaining(["filter_customers", "wait", "wait_until_date", "send_email"]),
    );
    expect(Object.keys(meta.triggers)).toEqual(expect.arrayContaining(["api_enrollment", "event_occurred"]));
  });

  test.each(Object.keys(meta.actions))("a document with a %s node survives the canvas", (type) => {
    const doc = triggerDoc(meta, [node(meta, "n1", type)]);
    doc.edges = [{ source: "trigger", target: "n1", source_port: null }];
    doc.nodes[0].title = `my ${type}`;
    expect(roundTrip(doc)).toEqual(doc);
    const canvas = toCanvas(doc, meta);
    expect(canvas.nodes.map((n) => n.id)).toEqual(["trigger", "n1"]);
    // the served outputs, or one per variant for a node whose outputs are counted by a setting (ab_test)
    expect(canvas.nodes[1].data.ports).toEqual(portsOf(meta, doc.nodes[0], false));
    expect(canvas.nodes[1].data.ports.length).toBeGreaterThan(0);
  });

  test.each(Object.keys(meta.triggers))("a document with a %s trigger survives the canvas", (type) => {
    const doc = triggerDoc(meta);
    doc.trigger = { id: "trigger", type, title: "Start", config: defaultConfig(meta, meta.triggers[type]) };
    expect(roundTrip(doc)).toEqual(doc);
    expect(toCanvas(doc, meta).nodes[0]).toMatchObject({ id: "trigger", deletable: false, data: { trigger: true } });
  });

  test("a branched campaign (filter yes / no, waits, sends, merge) survives with its ports", () => {
    const doc = triggerDoc(meta, [
      node(meta, "f1", "filter_customers"),
      node(meta, "w1", "wait"),
      node(meta, "e1", "send_email"),
      node(meta, "e2", "send_email"),
      node(meta, "w2", "wait"),
    ]);
    doc.edges = [
      { source: "trigger", target: "f1", source_port: null },
      { source: "f1", target: "w1", source_port: "yes" },
      { source: "f1", target: "e2", source_port: "no" },
      { source: "w1", target: "e1", source_port: null },
      { source: "e1", target: "w2", source_port: null },
      { source: "e2", target: "w2", source_port: null },
    ];
    expect(roundTrip(doc)).toEqual(doc);
    const canvas = toCanvas(doc, meta);
    expect(canvas.edges.map((e) => e.sourceHandle)).toEqual(["out", "yes", "no", "out", "out", "out"]);
    expect(canvas.edges.filter((e) => e.target === "w2")).toHaveLength(2);
    expect(new Set(canvas.edges.map((e) => e.id)).size).toBe(6);
  });

  test("the outputs of a variant node are its edges in order", () => {
    let doc = triggerDoc(meta, [node(meta, "ab", "ab_test"), node(meta, "w1", "wait"), node(meta, "w2", "wait")]);
    doc.nodes[0].config.variants = 2;
    doc.edges = [{ source: "trigger", target: "ab", source_port: null }];
    doc = connect(doc, meta, { source: "ab", sourceHandle: "variant-1", target: "w1" });
    doc = connect(doc, meta, { source: "ab", sourceHandle: "variant-2", target: "w2" });
    expect(doc.edges.slice(1)).toEqual([
      { source: "ab", target: "w1", source_port: null },
      { source: "ab", target: "w2", source_port: null },
    ]);
    const canvas = toCanvas(doc, meta);
    expect(canvas.nodes[1].data.ports).toEqual(["variant-1", "variant-2"]);
    expect(edgePorts(doc, meta)).toEqual(["out", "variant-1", "variant-2"]);
    expect(toDocument(canvas, doc)).toEqual(doc);
  });

  test("a node counted by a setting has as many of the served outputs as the setting says", () => {
    const served = meta.actions.ab_test.ports.map((port) => port.id);
    expect(meta.actions.ab_test.portsCountedBy).toBe("variants");
    const ab = node(meta, "ab", "ab_test");
    ab.config.variants = 3;
    expect(portsOf(meta, ab, false)).toEqual(served.slice(0, 3));
    ab.config.variants = served.length + 5;
    expect(portsOf(meta, ab, false)).toEqual(served);
  });

  test("nodes the layout does not place are placed by the layered layout, keeping placed ones", () => {
    const doc = triggerDoc(meta, [node(meta, "w1", "wait")]);
    doc.edges = [{ source: "trigger", target: "w1", source_port: null }];
    doc.layout = { trigger: { x: 5, y: 7 } };
    const positions = positionsOf(doc);
    expect(positions.trigger).toEqual({ x: 5, y: 7 });
    expect(positions.w1.x).toBeGreaterThan(0);
    expect(toDocument(toCanvas(doc, meta), doc).layout).toEqual(positions);
  });

  test("the palette shows the served groups, in the served order, each action in the group the engine gives it", () => {
    const groups = paletteGroups(meta);
    expect(groups.map(([group]) => group)).toEqual(meta.catalog.groups);
    expect(groups.flatMap(([, types]) => types.map((t) => t.type)).sort()).toEqual(Object.keys(meta.actions).sort());
    for (const [group, types] of groups) {
      expect(types.length, `the palette group ${group.id} is empty`).toBeGreaterThan(0);
      for (const type of types) expect(meta.catalog.actions[type.type].group).toBe(group.id);
    }
  });

  test("the palette follows what is served, not a list of its own", () => {
    const served = loadMeta();
    served.catalog.groups = [...served.catalog.groups].reverse().map((group) => ({ ...group, title: `${group.title}!` }));
    const groups = paletteGroups(served);
    expect(groups.map(([group]) => group.id)).toEqual(meta.catalog.groups.map((group) => group.id).reverse());
    expect(groups.every(([group]) => group.title.endsWith("!"))).toBe(true);
  });

  test("every served palette group has its colour", () => {
    const css = readFileSync(new URL("../styles.css", import.meta.url), "utf8");
    for (const group of meta.catalog.groups) expect(css, `no .group-${group.id} in styles.css`).toMatch(`.group-${group.id} {`);
  });
});
