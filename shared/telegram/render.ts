// What the bot says, as Telegram HTML. Every dynamic value passes through escapeHtml/escapeCut.
import { escapeCut, escapeHtml } from "./html.ts";

export interface OutboxAlert {
  id: number;
  kind: "incident" | "sla_burn" | "dlq" | "test";
  severity: "critical" | "warning" | "info";
  group_key: string;
  title: string;
  details: Record<string, unknown>;
  created_at: string;
}

const ICON = { critical: "🔴", warning: "🟠", info: "🟢" } as const;
const RANK = { critical: 0, warning: 1, info: 2 } as const;

/** Lines beyond this many groups are summarized, so a digest stays a few messages long. */
export const MAX_DIGEST_GROUPS = 40;

function detailLine(a: OutboxAlert): string | null {
  const d = a.details;
  switch (a.kind) {
    case "incident":
      return [d.reason ? `reason: ${String(d.reason)}` : null, d.actor ? `by ${String(d.actor)}` : null, d.note ? `note: ${String(d.note)}` : null]
        .filter(Boolean)
        .join(" · ") || null;
    case "dlq":
      return d.failure_reason ? String(d.failure_reason) : null;
    case "sla_burn":
      return `burn 1h ${String(d.burn_1h ?? "?")}× / 5m ${String(d.burn_5m ?? "?")}×, budget left ${String(d.budget_remaining ?? "?")}`;
    default:
      return null;
  }
}

/**
 * Folds a burst of alerts into one digest: one entry per group key (count, first title, the latest
 * detail), most severe and most frequent first. 500 DLQ alerts of 3 kinds become 3 lines.
 */
export function renderDigest(alerts: OutboxAlert[]): string {
  const groups = new Map<string, { first: OutboxAlert; last: OutboxAlert; n: number; severity: OutboxAlert["severity"] }>();
  for (const a of alerts) {
    const g = groups.get(a.group_key);
    if (!g) groups.set(a.group_key, { first: a, last: a, n: 1, severity: a.severity });
    else {
      g.last = a;
      g.n += 1;
      if (RANK[a.severity] < RANK[g.severity]) g.severity = a.severity;
    }
  }
  const ordered = [...groups.values()].sort((x, y) => RANK[x.severity] - RANK[y.severity] || y.n - x.n);
  const lines = [`<b>actp: ${alerts.length} alert${alerts.length === 1 ? "" : "s"}</b>`];
  for (const g of ordered.slice(0, MAX_DIGEST_GROUPS)) {
    const title = g.n > 1 && g.first.kind === "incident" ? g.last.title : g.first.title;
    lines.push("");
    lines.push(`${ICON[g.severity]} <b>${escapeCut(title, 200)}</b>${g.n > 1 ? ` ×${g.n}` : ""}`);
    const detail = detailLine(g.last);
    if (detail) lines.push(`<i>${escapeCut(detail, 400)}</i>`);
  }
  if (ordered.length > MAX_DIGEST_GROUPS) {
    const rest = ordered.slice(MAX_DIGEST_GROUPS).reduce((s, g) => s + g.n, 0);
    lines.push("", `…and ${rest} more alert${rest === 1 ? "" : "s"} in ${ordered.length - MAX_DIGEST_GROUPS} groups: /status, /dlq`);
  }
  return lines.join("\n");
}

export const code = (v: unknown) => `<code>${escapeHtml(v)}</code>`;
