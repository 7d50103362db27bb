/** The preview of a node's templates for one customer (by external id, remembered in localStorage): rendered
 * as the form is typed in (after a pause) and on the button, from the form's draft, with the campaign's trigger
 * variables when the campaign is saved. An HTML body is shown in a sandboxed frame that runs no scripts. */
import { useEffect, useMemo, useRef, useState } from "react";
import type { Config } from "../model/doc";
import { deref, titleOf, type JsonSchema } from "../model/schema";
import { CUSTOMER_KEY, previewRequests, runPreview, templateFields, type PreviewRequest, type PreviewResult } from "./templatePreview";

export const DEBOUNCE_MS = 400;

function remembered(): string {
  try {
    return window.localStorage.getItem(CUSTOMER_KEY) ?? "";
  } catch {
    return "";
  }
}

function remember(customer: string): void {
  try {
    window.localStorage.setItem(CUSTOMER_KEY, customer);
  } catch {
    // storage may be off (private mode): the preview still works, it just forgets
  }
}

export function PreviewPanel(props: { root: JsonSchema; schema: JsonSchema; type: string; config: Config; campaignId: number | null }) {
  const { root, schema, type, config, campaignId } = props;
  const fields = useMemo(() => templateFields(root, schema), [root, schema]);
  const [customer, setCustomer] = useState(remembered);
  const [result, setResult] = useState<PreviewResult | null>(null);
  const [busy, setBusy] = useState(false);
  const running = useRef<AbortController | null>(null);
  const requests = useMemo(() => previewRequests(type, config, fields, customer, campaignId), [type, config, fields, customer, campaignId]);
  const key = JSON.stringify(requests);

  const render = async (wanted: PreviewRequest[]) => {
    running.current?.abort();
    if (wanted.length === 0) {
      setResult(null);
      setBusy(false);
      return;
    }
    const controller = new AbortController();
    running.current = controller;
    remember(wanted[0].body.customer);
    setBusy(true);
    const next = await runPreview(wanted, controller.signal);
    if (controller.signal.aborted) return;
    setResult(next);
    setBusy(false);
  };

  useEffect(() => {
    const timer = window.setTimeout(() => void render(requests), DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
    // the requests are compared by content: a re-render with the same texts does not render again
  }, [key]);
  useEffect(() => () => running.current?.abort(), []);

  if (fields.length === 0) return null;
  return (
    <section className="template-preview" data-testid="template-preview" aria-label="Template preview" aria-busy={busy}>
      <h3>Preview</h3>
      <div className="preview-customer">
        <label htmlFor="preview-customer">Customer</label>
        <input id="preview-customer" name="preview-customer" placeholder="external id" value={customer} onChange={(e) => setCustomer(e.target.value)} />
        <button type="button" data-action="preview" disabled={requests.length === 0} onClick={() => void render(requests)}>
          Preview
        </button>
      </div>
      {!customer.trim() && <p className="help">Type a customer's external id to see the templates as they would receive them.</p>}
      {result?.errors.map((message, index) => (
        <div key={`e${index}`} className="field-error" role="alert" data-testid="preview-error">
          {message}
        </div>
      ))}
      {result &&
        fields
          .filter((name) => name in result.rendered)
          .map((name) => (
            <div key={name} className="preview-field" data-preview={name}>
              <div className="label">{titleOf(deref(root, schema.properties?.[name]), name)}</div>
              {name.includes("html") ? (
                <iframe sandbox="" srcDoc={result.rendered[name]} title={`Preview of ${name}`} />
              ) : (
                <div className="preview-text">{result.rendered[name]}</div>
              )}
            </div>
          ))}
      {result?.warnings.map((warning, index) => (
        <div key={`w${index}`} className="preview-warning" data-testid="preview-warning">
          {warning.field}: {warning.line !== null ? `line ${warning.line}: ` : ""}
          {warning.problem}
        </div>
      ))}
    </section>
  );
}
