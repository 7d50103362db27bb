/** Previewing a node's templates for a chosen customer (POST /api/v1/templates/preview): which settings are
 * templates (marked ``x-template`` in the JSON Schema), the requests that render them, and the answers read back
 * in the node's own field names. An e-mail is one request (subject and body); every other template is one
 * request of its own, as the endpoint takes one text per message for those channels. */
import { ApiError, request } from "../lib/api";
import type { Config, Json } from "../model/doc";
import { splitNullable, type JsonSchema } from "../model/schema";

export type Channel = "email" | "sms" | "viber" | "push" | "notification" | "popup";

export interface PreviewBody {
  channel: Channel;
  customer: string;
  template?: string;
  subject?: string;
  body?: string;
  campaign_id?: number;
}

/** One request, and which setting each text it sends comes from (``{"body": "body_html"}``). */
export interface PreviewRequest {
  body: PreviewBody;
  fields: Record<string, string>;
}

export interface PreviewWarning {
  field: string;
  line: number | null;
  problem: string;
}

export interface PreviewAnswer {
  rendered: Record<string, string>;
  warnings: PreviewWarning[];
}

/** What the preview shows, by setting name: the rendered texts, the warnings and the errors. */
export interface PreviewResult {
  rendered: Record<string, string>;
  warnings: PreviewWarning[];
  errors: string[];
}

/** The e-mail's settings and the endpoint's names for them. */
const EMAIL_FIELDS: Record<string, "subject" | "body"> = { subject: "subject", body_html: "body" };

/** The last customer previewed, remembered across nodes and visits. */
export const CUSTOMER_KEY = "tidings.preview.customer";

export const isTemplateSchema = (root: JsonSchema, schema: JsonSchema): boolean =>
  splitNullable(root, schema).inner["x-template"] === true;

/** The settings of a node type that are templates, in the form's order. */
export function templateFields(root: JsonSchema, config: JsonSchema): string[] {
  return Object.entries(config.properties ?? {})
    .filter(([, property]) => isTemplateSchema(root, property))
    .map(([name]) => name);
}

/** The channel a node's message goes by; a node type not known here previews as a notification (one text). */
export function channelOf(type: string, config: Config): Channel {
  switch (type) {
    case "send_email":
    case "notify_manager":
      return "email";
    case "send_sms":
      return config.mode === "viber" || config.mode === "viber_sms" ? "viber" : "sms";
    case "send_push":
      return "push";
    case "show_popup":
      return "popup";
    default:
      return "notification";
  }
}

/** The requests that render a node's non-empty templates for ``customer``; none without a customer or text. */
export function previewRequests(
  type: string,
  config: Config,
  fields: string[],
  customer: string,
  campaignId: number | null,
): PreviewRequest[] {
  const who = customer.trim();
  if (!who) return [];
  const channel = channelOf(type, config);
  const base: PreviewBody = { channel, customer: who, ...(campaignId !== null ? { campaign_id: campaignId } : {}) };
  const texts = fields.filter((name) => typeof config[name] === "string" && config[name] !== "");
  const requests: PreviewRequest[] = [];
  const email: PreviewRequest = { body: { ...base }, fields: {} };
  for (const name of texts) {
    const text = config[name] as string;
    const part = channel === "email" ? EMAIL_FIELDS[name] : undefined;
    if (part) {
      email.body[part] = text;
      email.fields[part] = name;
    } else {
      requests.push({ body: { ...base, template: text }, fields: { template: name } });
    }
  }
  return Object.keys(email.fields).length > 0 ? [email, ...requests] : requests;
}

/** An error of the endpoint, naming the setting instead of the endpoint's field: ``body_html: line 2: …``. */
export function errorText(error: unknown, fields: Record<string, string>): string {
  if (!(error instanceof ApiError)) return String(error instanceof Error ? error.message : error);
  const details = error.details as { field?: Json; line?: Json; problem?: Json } | null | undefined;
  if (details && typeof details.field === "string" && typeof details.problem === "string") {
    const where = typeof details.line === "number" ? `line ${details.line}: ` : "";
    return `${fields[details.field] ?? details.field}: ${where}${details.problem}`;
  }
  return error.message;
}

/** The answers (or errors) of ``requests``, in their order, read back by setting name. */
export function combine(requests: PreviewRequest[], answers: PromiseSettledResult<PreviewAnswer>[]): PreviewResult {
  const result: PreviewResult = { rendered: {}, warnings: [], errors: [] };
  requests.forEach((request, index) => {
    const answer = answers[index];
    if (answer.status === "rejected") {
      result.errors.push(errorText(answer.reason, request.fields));
      return;
    }
    for (const [field, text] of Object.entries(answer.value.rendered)) result.rendered[request.fields[field] ?? field] = text;
    for (const warning of answer.value.warnings) result.warnings.push({ ...warning, field: request.fields[warning.field] ?? warning.field });
  });
  return result;
}

/** POST the request; a refusal throws the API's error as ``ApiError``. */
export function fetchPreview(body: PreviewBody, signal?: AbortSignal): Promise<PreviewAnswer> {
  return request<PreviewAnswer>("POST", "templates/preview", body, signal);
}

/** Render every request of a node; each fails or succeeds on its own. */
export async function runPreview(requests: PreviewRequest[], signal?: AbortSignal): Promise<PreviewResult> {
  return combine(requests, await Promise.allSettled(requests.map((request) => fetchPreview(request.body, signal))));
}
