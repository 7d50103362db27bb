import { describe, expect, it } from "vitest";
import { ApiError } from "../lib/api";
import { loadMeta } from "../model/testing";
import { channelOf, combine, errorText, previewRequests, templateFields, type PreviewAnswer, type PreviewRequest } from "./templatePreview";

const meta = loadMeta();
const fieldsOf = (type: string) => templateFields(meta.root, meta.actions[type].config);

describe("template fields", () => {
  it("are the settings the schema marks x-template, optional ones too, in the form's order", () => {
    expect(fieldsOf("send_email")).toEqual(["subject", "body_html"]);
    expect(fieldsOf("notify_manager")).toEqual(["subject", "body_html"]);
    expect(fieldsOf("send_sms")).toEqual(["text", "viber_button_text"]);
    expect(fieldsOf("send_push")).toEqual(["title", "text", "link"]);
    expect(fieldsOf("send_notification")).toEqual(["title", "text"]);
    expect(fieldsOf("show_popup")).toEqual(["title", "subtitle", "text", "promo_code"]);
    expect(fieldsOf("wait")).toEqual([]);
  });
});

describe("preview requests", () => {
  it("send an e-mail's subject and HTML body in one request, with the campaign", () => {
    const config = { subject: "Hi {{ customer.first_name }}", body_html: "<p>Hi</p>", sender_name: "Shop" };
    expect(previewRequests("send_email", config, fieldsOf("send_email"), "  ann ", 3)).toEqual([
      {
        body: { channel: "email", customer: "ann", campaign_id: 3, subject: "Hi {{ customer.first_name }}", body: "<p>Hi</p>" },
        fields: { subject: "subject", body: "body_html" },
      },
    ]);
    const onlySubject = previewRequests("notify_manager", { subject: "Call", body_html: "" }, fieldsOf("notify_manager"), "ann", null);
    expect(onlySubject).toEqual([{ body: { channel: "email", customer: "ann", subject: "Call" }, fields: { subject: "subject" } }]);
  });

  it("send every other template as a request of its own, by the node's channel", () => {
    const config = { title: "Hello", text: "{{ customer.first_name }}", link: null, deliver_immediately: false };
    expect(previewRequests("send_push", config, fieldsOf("send_push"), "ann", null)).toEqual([
      { body: { channel: "push", customer: "ann", template: "Hello" }, fields: { template: "title" } },
      { body: { channel: "push", customer: "ann", template: "{{ customer.first_name }}" }, fields: { template: "text" } },
    ]);
    expect(channelOf("send_sms", { mode: "sms" })).toBe("sms");
    expect(channelOf("send_sms", { mode: "viber_sms" })).toBe("viber");
    expect(channelOf("send_notification", {})).toBe("notification");
    expect(channelOf("show_popup", {})).toBe("popup");
  });

  it("are none without a customer or without text", () => {
    expect(previewRequests("send_sms", { text: "Hi" }, fieldsOf("send_sms"), " ", 3)).toEqual([]);
    expect(previewRequests("send_email", { subject: "", body_html: "" }, fieldsOf("send_email"), "ann", 3)).toEqual([]);
  });
});

describe("preview answers", () => {
  const email: PreviewRequest = { body: { channel: "email", customer: "ann", subject: "s", body: "b" }, fields: { subject: "subject", body: "body_html" } };
  const title: PreviewRequest = { body: { channel: "push", customer: "ann", template: "t" }, fields: { template: "title" } };

  it("are read back by setting name", () => {
    const answer: PreviewAnswer = {
      rendered: { subject: "Hi Ann", body: "<p>Hi</p>" },
      warnings: [{ field: "body", line: 2, problem: "event is not defined; it rendered as empty" }],
    };
    expect(combine([email], [{ status: "fulfilled", value: answer }])).toEqual({
      rendered: { subject: "Hi Ann", body_html: "<p>Hi</p>" },
      warnings: [{ field: "body_html", line: 2, problem: "event is not defined; it rendered as empty" }],
      errors: [],
    });
  });

  it("name the setting and the line of a template error, each request on its own", () => {
    const syntax = new ApiError(422, "template.syntax", "template: line 3: unexpected tag 'endif'", {
      field: "template",
      line: 3,
      column: 1,
      problem: "unexpected tag 'endif'",
    });
    const text: PreviewRequest = { ...title, fields: { template: "text" } };
    const result = combine(
      [title, text],
      [
        { status: "fulfilled", value: { rendered: { template: "Hello" }, warnings: [] } },
        { status: "rejected", reason: syntax },
      ],
    );
    expect(result).toEqual({ rendered: { title: "Hello" }, warnings: [], errors: ["text: line 3: unexpected tag 'endif'"] });
  });

  it("show other errors as the API words them", () => {
    const missing = new ApiError(404, "not_found", "customer 'bob' does not exist", { external_id: "bob" });
    expect(errorText(missing, email.fields)).toBe("customer 'bob' does not exist");
    const noLine = new ApiError(422, "template.render", "body: boom", { field: "body", line: null, problem: "boom" });
    expect(errorText(noLine, email.fields)).toBe("body_html: boom");
    expect(errorText(new TypeError("Failed to fetch"), email.fields)).toBe("Failed to fetch");
  });
});
