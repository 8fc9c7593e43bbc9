// DLQ: pending dead jobs grouped by error fingerprint (count, first and last seen). A group opens
// to its items; each item can be shown, replayed or discarded, and a whole group replayed with
// progress. Actions are offered to operators only; the server checks again.
import { api, qs } from "../api.ts";
import { canAct, type Session } from "../auth.ts";
import { badge, h, json, table, when, clear } from "../dom.ts";
import { cell, errorBox, panel, rowsOf } from "./common.ts";

interface Group {
  fingerprint: string;
  count: number;
  first_seen: string;
  last_seen: string;
  job_type?: string;
  agent_slug?: string;
  sample_reason?: string;
  [k: string]: unknown;
}

interface Item {
  id: string;
  original_job_id: string;
  job_type: string;
  agent_slug: string;
  failure_reason: string;
  enqueued_at: string;
  resolution: string | null;
}

export function dlqPage(session: Session): HTMLElement {
  const detail = h("div", { id: "dlq-detail" });
  const groups = panel("Pending, by error fingerprint", async () => {
    const body = await api<unknown>("dlq", "/groups");
    const rows = rowsOf(body, "groups") as Group[];
    return table(rows, [
      ["error", (g) => h("a", { href: "#", class: "group-link", "data-fingerprint": g.fingerprint, onclick: (e: Event) => { e.preventDefault(); void openGroup(g, detail, session); } }, String(g.sample_reason ?? g.failure_reason ?? g.fingerprint))],
      ["job type", (g) => cell(g.job_type)],
      ["count", (g) => badge(String(g.count), "count")],
      ["first seen", (g) => when(g.first_seen)],
      ["last seen", (g) => when(g.last_seen)],
    ], "the dead-letter queue is empty");
  }, "panel-dlq-groups");
  return h("div", { class: "page" }, h("h1", {}, "Dead-letter queue"), groups, detail);
}

async function groupItems(g: Group): Promise<Item[]> {
  const items: Item[] = [];
  let after: string | null = null;
  do {
    const page: { items: Item[]; next_cursor: string | null } = await api("dlq", qs({ status: "pending", fingerprint: g.fingerprint, limit: 200, after }));
    items.push(...page.items);
    after = page.next_cursor;
  } while (after && items.length < 5000);
  return items;
}

async function openGroup(g: Group, detail: HTMLElement, session: Session): Promise<void> {
  clear(detail);
  const show = h("div", { id: "dlq-item" });
  const progress = h("p", { id: "bulk-progress", class: "status" });
  let items: Item[];
  try {
    items = await groupItems(g);
  } catch (e) {
    detail.appendChild(errorBox(e));
    return;
  }
  const act = (item: Item, action: "replay" | "discard", status: HTMLElement) => async () => {
    try {
      const r = await api<Record<string, unknown>>("dlq", `/${item.id}/${action}`, { method: "POST", body: { reviewer: session.email ?? "dashboard", note: `${action} from the dashboard` } });
      status.replaceChildren(badge(action === "replay" ? "replayed" : "discarded"), r.replay_job_id ? h("a", { href: `#/jobs/${String(r.replay_job_id)}` }, " new job") : "");
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  const rows = table(items, [
    ["job", (i) => h("a", { href: `#/jobs/${i.original_job_id}` }, i.original_job_id.slice(0, 8))],
    ["agent", (i) => i.agent_slug],
    ["reason", (i) => i.failure_reason],
    ["enqueued", (i) => when(i.enqueued_at)],
    ["", (i) => {
      const status = h("span", { class: "status", "data-dlq-status": i.id });
      return h(
        "span",
        { class: "actions" },
        h("button", { class: "show", onclick: async () => { try { show.replaceChildren(h("h3", {}, `DLQ item ${i.id}`), json(await api("dlq", `/${i.id}`))); } catch (e) { show.replaceChildren(errorBox(e)); } } }, "Show"),
        canAct(session) && h("button", { class: "replay", "data-dlq-id": i.id, onclick: act(i, "replay", status) }, "Replay"),
        canAct(session) && h("button", { class: "discard", "data-dlq-id": i.id, onclick: act(i, "discard", status) }, "Discard"),
        status,
      );
    }],
  ], "no pending items in this group");
  // The server replays a group in one call; asking for it in chunks shows progress on a big group.
  const bulk = canAct(session) && items.length > 0
    ? h("button", { id: "bulk-replay", onclick: async () => {
        let replayed = 0;
        let failed = 0;
        try {
          for (;;) {
            const r = await api<{ replayed: number; failed: number; remaining: number }>("dlq", `/groups/${g.fingerprint}/replay`, { method: "POST", body: { limit: 25, note: "bulk replay of a fingerprint group from the dashboard" } });
            replayed += r.replayed;
            failed += r.failed;
            progress.textContent = `replayed ${replayed} of ${items.length}${failed ? `, ${failed} failed` : ""}${r.remaining ? `, ${r.remaining} left` : ""}`;
            if (r.remaining === 0 || r.replayed + r.failed === 0) break;
          }
        } catch (e) {
          progress.replaceChildren(errorBox(e));
        }
      } }, `Replay all ${items.length}`)
    : null;
  detail.append(h("section", { class: "panel" }, h("h2", {}, `Group ${g.fingerprint.slice(0, 12)}`), bulk, progress, rows), show);
}
