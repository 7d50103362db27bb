import { describe, expect, test } from "vitest";
import { describeProblem, fieldLabel, plainMessage } from "./problems";
import { loadMeta, node, triggerDoc } from "./testing";

const meta = loadMeta();

describe("a refused save in words", () => {
  test("validator messages become what to change", () => {
    expect(plainMessage("String should have at least 1 character")).toBe("fill it in");
    expect(plainMessage("Input should be greater than or equal to 1")).toBe("use 1 or more");
    expect(plainMessage("Input should be 'opens', 'clicks' or 'orders'")).toBe("choose “opens”, “clicks” or “orders”");
    expect(plainMessage("not reachable from the trigger")).toBe("not reachable from the trigger");
  });

  test("the node by its title, the setting by its label", () => {
    const email = { ...node(meta, "e1", "send_email"), title: "Welcome" };
    const doc = triggerDoc(meta, [email, node(meta, "w1", "wait")]);
    expect(fieldLabel(meta, doc, "e1", "config.body_html")).toBe("Message (HTML)");
    expect(fieldLabel(meta, doc, "e1", "config.utm.source")).toBe("Source");
    const problem = { node: "e1", field: "config.subject", message: "String should have at least 1 character" };
    expect(describeProblem(meta, doc, problem)).toBe("“Welcome” (Send email): Subject — fill it in.");
    const wait = { node: "w1", field: "config.amount", message: "Input should be greater than or equal to 1" };
    expect(describeProblem(meta, doc, wait)).toBe("Wait: Amount — use 1 or more.");
  });
});
