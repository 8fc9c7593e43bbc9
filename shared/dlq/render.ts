// Plain-text renderings of DLQ reads and review results, for the CLI and chat commands (/dlq).
import { renderTimeline, table, value } from "../forensics/render.ts";
import type { BulkReplayResult, DlqItem, DlqPage, ReviewResult } from "./contracts.ts";

const when = (iso: string | null) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) : "—");
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function renderDlqList(page: DlqPage): string {
  const byType = Object.entries(page.pending.by_job_type)
    .map(([t, n]) => `${t} ${n}`)
    .join(", ");
  const lines = [`${page.pending.total} pending${byType ? ` (${byType})` : ""}`];
  if (page.items.length === 0) {
    lines.push("no items match");
  } else {
    lines.push(
      "",
      ...table([
        ["id", "enqueued (UTC)", "job type", "agent", "tries", "status", "failure"],
        ...page.items.map((i) => [
          i.id,
          when(i.enqueued_at),
          i.job_type,
          i.agent_slug,
          String(i.attempts),
          i.resolution ? `${i.resolution} by ${i.reviewed_by}` : "pending",
          cut(i.failure_reason, 70),
        ]),
      ]),
    );
  }
  if (page.next_cursor) lines.push("", `more: --after ${page.next_cursor}`);
  return lines.join("\n");
}

export function renderDlqItem(item: DlqItem): string {
  const lines = [
    `dlq ${item.id}  ${item.resolution ? `${item.resolution} by ${item.reviewed_by} at ${when(item.reviewed_at)}` : "PENDING REVIEW"}`,
    `job ${item.original_job_id}  ${item.agent_slug} (${item.job_type})  enqueued ${when(item.enqueued_at)}  attempts ${item.attempts} (retries ${item.retry_count})`,
    `failure: ${item.failure_reason}`,
  ];
  if (item.replay_job_id) lines.push(`replayed as ${item.replay_job_id}`);
  if (item.note) lines.push(`note: ${item.note}`);
  lines.push("", "input:", ...JSON.stringify(item.input_data, null, 2).split("\n").map((l) => `  ${l}`));
  if (item.fixed_input !== null && item.fixed_input !== undefined) {
    lines.push("fixed input:", ...JSON.stringify(item.fixed_input, null, 2).split("\n").map((l) => `  ${l}`));
  }
  lines.push("", "errors:");
  if (item.errors.length === 0) lines.push("  (none recorded)");
  for (const e of item.errors) {
    const label = e.source === "attempt" ? `attempt ${e.attempt ?? "?"}` : e.source === "step" ? `step ${e.step}` : "final";
    lines.push(`  ${label}: ${e.name ? `${e.name}: ` : ""}${value(e.message, 120).replace(/^"|"$/g, "")}${e.where && !(e.source === "step" && e.where === e.step) ? ` (in ${e.where})` : ""}`);
  }
  lines.push("", "timeline:", ...renderTimeline(item.timeline).split("\n").map((l) => `  ${l}`));
  return lines.join("\n");
}

export function renderReview(r: ReviewResult): string {
  const what = r.replay_job_id ? `${r.resolution} → job ${r.replay_job_id}` : r.resolution;
  return `${r.already_resolved ? "already resolved: " : ""}dlq ${r.dlq_id} ${what} (by ${r.reviewed_by})`;
}

export function renderBulk(r: BulkReplayResult): string {
  const lines = [`matched ${r.matched}: replayed ${r.replayed}, failed ${r.failed}`];
  for (const i of r.items) {
    lines.push(i.ok ? `  ✓ ${i.dlq_id} → ${i.replay_job_id}` : `  ✗ ${i.dlq_id}: ${i.error.code}: ${cut(i.error.message, 100)}`);
  }
  return lines.join("\n");
}

function age(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 129_600) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

/** A few lines for a chat message (/dlq): counts, then the oldest items with short ids, no table. */
export function renderDlqDigest(page: DlqPage, opts: { max?: number; now?: number } = {}): string {
  const max = opts.max ?? 5;
  const now = opts.now ?? Date.now();
  if (page.pending.total === 0) return "DLQ: nothing pending review";
  const byType = Object.entries(page.pending.by_job_type)
    .map(([t, n]) => `${t} ${n}`)
    .join(", ");
  const lines = [`DLQ: ${page.pending.total} pending (${byType})`];
  for (const i of page.items.slice(0, max)) {
    lines.push(`• ${i.id.slice(0, 8)} ${i.job_type}, ${age(i.enqueued_at, now)}: ${cut(i.failure_reason, 80)}`);
  }
  const rest = page.pending.total - Math.min(max, page.items.length);
  if (rest > 0) lines.push(`… and ${rest} more`);
  return lines.join("\n");
}
