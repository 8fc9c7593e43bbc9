// A job's timeline: steps and events with durations on one time axis, the job type's SLA targets
// drawn on it, and replay (whole, or from a step) and diff against another run from here.
import { api, qs } from "../api.ts";
import { canAct, type Session } from "../auth.ts";
import { badge, h, json, ms, table, when } from "../dom.ts";
import { cell, errorBox, panel } from "./common.ts";

interface Entry {
  kind: "event" | "step";
  at: string;
  offset_ms: number;
  gap_ms: number;
  type?: string;
  name?: string;
  status?: string;
  step?: string | null;
  tool?: string | null;
  duration_ms?: number | null;
  payload?: Record<string, unknown>;
}

interface TimelineBody {
  job: Record<string, unknown> & { id: string; status: string; agent_slug: string; job_type: string };
  summary: Record<string, number | null>;
  entries: Entry[];
  next_cursor?: string | null;
  replays?: { id: string; status: string; from_step: string | null }[];
}

async function loadTimeline(id: string): Promise<TimelineBody> {
  const first = await api<TimelineBody>("replay", `/${id}/timeline`);
  let cursor = first.next_cursor ?? null;
  // Follow the pages (the API caps each one), up to what a screen can show.
  while (cursor && first.entries.length < 5000) {
    const next = await api<TimelineBody>("replay", `/${id}/timeline${qs({ after: cursor })}`);
    first.entries.push(...next.entries);
    cursor = next.next_cursor ?? null;
  }
  return first;
}

export function jobPage(session: Session, id: string): HTMLElement {
  return h(
    "div",
    { class: "page" },
    h("h1", {}, "Job ", h("code", {}, id)),
    panel("Timeline", async () => {
      const t = await loadTimeline(id);
      // The job type's SLA targets, drawn on the axis (a job with no SLA row simply has none).
      let targets: Record<string, unknown>[] = [];
      try {
        const { measurement } = await api<{ measurement: { target?: Record<string, number> } }>("sla", `/jobs/${id}`);
        const t = measurement.target ?? {};
        targets = [
          { name: "first update", target_ms: t.time_to_first_update_ms },
          { name: "completion", target_ms: t.time_to_completion_ms },
        ].filter((x) => typeof x.target_ms === "number");
      } catch {
        targets = [];
      }
      return [
        h("p", {}, badge(t.job.status), ` ${t.job.agent_slug} · ${t.job.job_type} · total ${ms(t.summary.total_ms)} · queue ${ms(t.summary.queue_ms)} · steps ${cell(t.summary.steps)}`),
        axis(t, targets),
        table(t.entries, [
          ["at", (e) => `+${ms(e.offset_ms)}`],
          ["what", (e) => (e.kind === "step" ? h("strong", {}, `step ${e.name}`) : e.type ?? "")],
          ["status", (e) => (e.status ? badge(e.status) : e.step ? `in ${e.step}` : "")],
          ["duration", (e) => (e.kind === "step" ? ms(e.duration_ms) : "")],
          ["gap", (e) => ms(e.gap_ms)],
          ["detail", (e) => (e.payload ? cell(e.payload) : "")],
        ], "no events yet"),
        canAct(session) ? replayControls(t) : null,
        diffControls(id),
      ];
    }, "panel-timeline"),
  );
}

/** One bar per step and a tick per event along the job's time axis, SLA targets as lines. */
function axis(t: TimelineBody, targets: Record<string, unknown>[]): HTMLElement {
  const targetMs = targets.map((x) => Number(x.target_ms ?? x.value_ms ?? x.threshold_ms)).filter((n) => Number.isFinite(n) && n > 0);
  const end = Math.max(1, ...t.entries.map((e) => e.offset_ms + (e.duration_ms ?? 0)), ...targetMs);
  const pct = (v: number) => `${Math.min(100, (v / end) * 100).toFixed(2)}%`;
  const bars = t.entries.map((e) =>
    e.kind === "step"
      ? h("div", { class: `bar step status-${e.status ?? ""}`, style: `left:${pct(e.offset_ms)};width:${pct(Math.max(end / 200, e.duration_ms ?? 0))}`, title: `${e.name}: ${ms(e.duration_ms)}` })
      : h("div", { class: "tick", style: `left:${pct(e.offset_ms)}`, title: `${e.type} at +${ms(e.offset_ms)}` }),
  );
  const lines = targets.map((x) => {
    const v = Number(x.target_ms ?? x.value_ms ?? x.threshold_ms);
    return Number.isFinite(v) ? h("div", { class: "sla-line", style: `left:${pct(v)}`, title: `SLA ${String(x.name ?? x.measure ?? "target")}: ${ms(v)}` }, h("span", {}, String(x.name ?? x.measure ?? "SLA"))) : null;
  });
  return h("div", { class: "axis", "aria-label": "timeline axis" }, bars, lines);
}

function replayControls(t: TimelineBody): HTMLElement {
  const steps = t.entries.filter((e) => e.kind === "step").map((e) => e.name!);
  const select = h("select", { id: "replay-from" }, h("option", { value: "" }, "from the start"), steps.map((s) => h("option", { value: s }, `from step ${s}`))) as HTMLSelectElement;
  const out = h("span", { class: "status" });
  return h(
    "div",
    { class: "actions" },
    select,
    h("button", { id: "replay-job", onclick: async () => {
      try {
        const r = await api<{ job_id: string }>("replay", `/${t.job.id}`, { method: "POST", body: select.value ? { from_step: select.value } : {} });
        out.replaceChildren("replayed as ", h("a", { href: `#/jobs/${r.job_id}` }, r.job_id));
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    } }, "Replay"),
    out,
  );
}

function diffControls(id: string): HTMLElement {
  const other = h("input", { type: "text", placeholder: "other job id", id: "diff-with" }) as HTMLInputElement;
  const out = h("div", {});
  return h(
    "div",
    { class: "actions" },
    other,
    h("button", { onclick: async () => {
      try {
        out.replaceChildren(json(await api("replay", `/diff${qs({ a: id, b: other.value.trim() })}`)));
      } catch (e) {
        out.replaceChildren(errorBox(e));
      }
    } }, "Diff"),
    out,
  );
}

export { when };
