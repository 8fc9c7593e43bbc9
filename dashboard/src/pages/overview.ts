// Overview: is anything wrong, and why, in one screen: the platform mode and the open incident with
// its evidence, SLA per job type with the error budget left, open circuits, and the workers.
import { api } from "../api.ts";
import { canAct, type Session } from "../auth.ts";
import { badge, h, json, table, when, ms } from "../dom.ts";
import { autoTable, cell, errorBox, panel, rowsOf } from "./common.ts";

interface IncidentState {
  mode?: string;
  open_incident?: Record<string, unknown> | null;
  incident?: Record<string, unknown> | null;
  [k: string]: unknown;
}

export function overviewPage(session: Session): HTMLElement {
  return h(
    "div",
    { class: "page" },
    h("h1", {}, "Overview"),
    h(
      "div",
      { class: "grid" },
      panel("Platform mode", async () => {
        const s = await api<IncidentState>("incidents", "");
        const mode = String(s.mode ?? (s as { state?: { mode?: string } }).state?.mode ?? "unknown");
        const open = s.open_incident ?? s.incident ?? null;
        const out: HTMLElement[] = [h("p", { id: "platform-mode" }, "Mode: ", badge(mode))];
        if (open) {
          out.push(h("h3", {}, "Open incident"), autoTable([open].map((o) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== "evidence")))));
          if ("evidence" in open) out.push(h("h3", {}, "Evidence"), json(open.evidence));
          if (canAct(session)) out.push(incidentActions(open));
        } else out.push(h("p", { class: "ok" }, "No open incident."));
        const detectors = Array.isArray(s.detectors) ? (s.detectors as Record<string, unknown>[]) : [];
        if (detectors.length) {
          out.push(
            h("h3", {}, "Detectors"),
            table(detectors, [
              ["detector", (d) => String(d.name)],
              ["state", (d) => badge(d.firing ? "firing" : d.enabled === false ? "off" : "calm", d.firing ? "incident" : "normal")],
              ["value", (d) => cell(d.value)],
              ["fires above", (d) => cell(d.fire_above)],
              ["since", (d) => when(d.firing_since as string | null)],
            ]),
          );
        }
        return out;
      }, "panel-mode"),
      panel("SLA by job type", async () => {
        const r = await api<Record<string, unknown>>("sla", "/report?window=24h");
        const rows = rowsOf(r, "job_types", "types", "rows", "report");
        return rows.length ? slaTable(rows) : autoTable([r]);
      }, "panel-sla"),
      panel("Open circuits", async () => {
        const { circuits } = await api<{ circuits: Record<string, unknown>[] }>("circuits", "");
        const open = circuits.filter((c) => c.state !== "closed");
        return table(open, [
          ["tool", (c) => String(c.tool ?? c.tool_name ?? "")],
          ["state", (c) => badge(String(c.state))],
          ["failures", (c) => cell(c.failure_count ?? c.failures)],
          ["since", (c) => when((c.opened_at ?? c.updated_at) as string | undefined)],
        ], `all ${circuits.length} circuits closed`);
      }, "panel-circuits"),
      panel("Workers", async () => {
        const { workers } = await api<{ workers: Record<string, unknown>[] }>("jobs", "/workers");
        return table(workers, [
          ["worker", (w) => String(w.worker_id)],
          ["state", (w) => badge(w.alive ? "alive" : "stale")],
          ["agents", (w) => (Array.isArray(w.agents) ? (w.agents as string[]).join(", ") : "–")],
          ["running", (w) => cell(w.running_jobs)],
          ["last heartbeat", (w) => `${ms(w.heartbeat_age_ms as number)} ago`],
        ], "no workers registered");
      }, "panel-workers"),
    ),
  );
}

function slaTable(rows: Record<string, unknown>[]): HTMLElement {
  const pick = (r: Record<string, unknown>, ...ks: string[]) => {
    for (const k of ks) if (r[k] !== undefined) return r[k];
    return undefined;
  };
  return table(rows, [
    ["job type", (r) => cell(pick(r, "job_type", "type"))],
    ["jobs", (r) => cell(pick(r, "jobs", "count", "total"))],
    ["success", (r) => cell(pick(r, "success_ratio", "success"))],
    ["breached", (r) => cell(pick(r, "breached_jobs", "breach_count"))],
    ["p95 completion", (r) => ms((r.time_to_completion_ms as { p95?: number } | undefined)?.p95 ?? null)],
    ["budget left", (r) => { const v = pick(r, "budget_remaining", "remaining_budget"); return typeof v === "number" ? `${(v * 100).toFixed(1)}%` : cell(v); }],
    ["burn 1h", (r) => cell(pick(r, "burn_rate_1h", "burn_rate"))],
    ["status", (r) => { const v = pick(r, "status"); return v ? badge(String(v), v === "page" ? "incident" : v === "ticket" ? "degraded" : "normal") : "–"; }],
  ]);
}

function incidentActions(open: Record<string, unknown>): HTMLElement {
  const note = h("input", { type: "text", placeholder: "note", id: "incident-note" }) as HTMLInputElement;
  const status = h("span", { class: "status" });
  const act = (action: "acknowledge" | "resolve") => async () => {
    try {
      await api("incidents", `/${action}`, { method: "POST", body: { note: note.value || `${action}d from the dashboard`, ...(open.id ? { incident_id: open.id } : {}) } });
      status.textContent = `${action}d`;
      window.dispatchEvent(new Event("hashchange"));
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  return h("div", { class: "actions" }, note, h("button", { onclick: act("acknowledge") }, "Acknowledge"), h("button", { onclick: act("resolve") }, "Resolve"), status);
}
