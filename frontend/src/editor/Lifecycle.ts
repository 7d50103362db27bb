/** Saving and the campaign lifecycle, as the toolbar runs them. */
import { api, ApiError, type Affected } from "../lib/api";
import { describeProblem } from "../model/problems";
import type { EditorStore } from "../model/store";

export type Verb = "activate" | "pause" | "stop";

/** Buttons a status offers (D13: draft → active ⇄ paused → stopped). */
export function verbsFor(status: string): { verb: Verb; label: string }[] {
  switch (status) {
    case "draft":
      return [{ verb: "activate", label: "Activate" }];
    case "active":
      return [
        { verb: "pause", label: "Pause" },
        { verb: "stop", label: "Stop" },
      ];
    case "paused":
      return [
        { verb: "activate", label: "Resume" },
        { verb: "stop", label: "Stop" },
      ];
    default:
      return [];
  }
}

/** Whether saving moves customers who are inside (a campaign that has run gets a new version). */
export const hasRun = (status: string) => status === "active" || status === "paused";

export async function dryRun(store: EditorStore): Promise<Affected> {
  const { campaignId, history } = store.getState();
  return (await api.save(campaignId!, history.present, true)).affected;
}

/** Save the present document; on a refused document the problems go to the nodes they name. */
export async function save(store: EditorStore): Promise<{ ok: true } | { ok: false; message: string }> {
  const { campaignId, history } = store.getState();
  const doc = history.present;
  try {
    await api.save(campaignId!, doc);
    const detail = await api.campaign(campaignId!);
    // the stored document (with the API's defaults filled in) becomes the present, without an undo step
    store.setState((state) => ({
      history: { ...state.history, present: state.history.present === doc ? detail.document : state.history.present },
      saved: JSON.stringify(detail.document),
      status: detail.status,
      problems: [],
    }));
    return { ok: true };
  } catch (error) {
    if (error instanceof ApiError) {
      const problems = error.problems();
      store.getState().setProblems(problems);
      if (problems.length === 0) return { ok: false, message: error.message };
      const { meta } = store.getState();
      const count = problems.length === 1 ? "one thing" : `${problems.length} things`;
      return { ok: false, message: `${count} to change. ${problems.map((p) => describeProblem(meta, doc, p)).join(" ")}` };
    }
    return { ok: false, message: String(error) };
  }
}

export async function transition(store: EditorStore, verb: Verb): Promise<string | null> {
  try {
    const changed = await api.transition(store.getState().campaignId!, verb);
    store.getState().setStatus(changed.status);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
