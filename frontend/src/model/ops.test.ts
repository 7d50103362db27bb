import { describe, expect, test } from "vitest";
import { edgeIds, toCanvas } from "./graph";
import { connect, criteriaOf, setCriterion } from "./ops";
import { loadMeta, node, triggerDoc } from "./testing";

const meta = loadMeta();

/** trigger → e1 → chk; chk —read_clicked→ w1, chk —undelivered→ w2 */
function statusCampaign() {
  let doc = triggerDoc(meta, [
    node(meta, "e1", "send_email"),
    node(meta, "chk", "check_email_status"),
    node(meta, "w1", "wait"),
    node(meta, "w2", "wait"),
  ]);
  doc = connect(doc, meta, { source: "trigger", target: "e1" });
  doc = connect(doc, meta, { source: "e1", target: "chk" });
  doc = connect(doc, meta, { source: "chk", target: "w1", sourceHandle: "read_clicked" });
  doc = connect(doc, meta, { source: "chk", target: "w2", sourceHandle: "undelivered" });
  return doc;
}

describe("criteria on the lines out of Check email status", () => {
  test("a line out of check_email_status offers every status and knows its own", () => {
    const doc = statusCampaign();
    const [, plain, clicked] = edgeIds(doc, meta);
    expect(criteriaOf(doc, meta, clicked)).toEqual({ current: "read_clicked", choices: meta.actions.check_email_status.ports });
    expect(criteriaOf(doc, meta, clicked)?.choices.map((choice) => choice.id)).toEqual([
      "undelivered",
      "delivered_not_read",
      "read_no_click",
      "read_clicked",
    ]);
    expect(criteriaOf(doc, meta, plain)).toBeNull(); // e1 → chk carries no criterion
  });

  test("choosing another status moves the line to that output, port and criterion alike", () => {
    const doc = statusCampaign();
    const clicked = edgeIds(doc, meta)[2];
    const next = setCriterion(doc, meta, clicked, "read_no_click");
    expect(next.edges[2]).toEqual({ source: "chk", target: "w1", source_port: "read_no_click", criteria: "read_no_click" });
    expect(next.edges.filter((_, index) => index !== 2)).toEqual(doc.edges.filter((_, index) => index !== 2));
    expect(doc.edges[2].criteria).toBe("read_clicked"); // the old document is untouched (undo)
  });

  test("a status the line already has, an unknown one, or one that duplicates a line changes nothing", () => {
    let doc = statusCampaign();
    doc = connect(doc, meta, { source: "chk", target: "w1", sourceHandle: "undelivered" });
    const ids = edgeIds(doc, meta);
    expect(setCriterion(doc, meta, ids[2], "read_clicked")).toBe(doc);
    expect(setCriterion(doc, meta, ids[2], "opened")).toBe(doc);
    expect(setCriterion(doc, meta, ids[2], "undelivered")).toBe(doc); // chk —undelivered→ w1 exists already
    expect(setCriterion(doc, meta, ids[1], "undelivered")).toBe(doc); // not a criteria line
  });

  test("lines out of a node with several outputs are labelled in the words the engine serves", () => {
    const doc = statusCampaign();
    const words = Object.fromEntries(meta.actions.check_email_status.ports.map((port) => [port.id, port.title]));
    expect(words.read_clicked).not.toBe("read_clicked");
    expect(toCanvas(doc, meta).edges.map((edge) => edge.data!.title)).toEqual([null, null, words.read_clicked, words.undelivered]);
    const reworded = loadMeta();
    reworded.actions.check_email_status.ports = reworded.actions.check_email_status.ports.map((port) => ({ ...port, title: port.id.toUpperCase() }));
    expect(toCanvas(doc, reworded).edges.map((edge) => edge.data!.title)).toEqual([null, null, "READ_CLICKED", "UNDELIVERED"]);
  });
});
