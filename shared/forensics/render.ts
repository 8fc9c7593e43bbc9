// Plain-text renderings for people (the CLI, a chat message): compact, aligned, and lossless about
// what matters; the JSON forms are for scripts. Markers: + added, - removed, ~ changed, = same.
import type { Delta, JsonChange, JsonDiff, ReplayResult, RunDiff, StepDiff, Timeline, TimelineEntry } from "./contracts.ts";

export const shortId = (id: string | null | undefined) => (id ? id.slice(0, 8) : "—");

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const abs = Math.abs(n);
  if (abs < 1000) return `${n}ms`;
  if (abs < 60_000) return `${(n / 1000).toFixed(2)}s`;
  const sign = n < 0 ? "-" : "";
  if (abs < 3_600_000) return `${sign}${Math.floor(abs / 60_000)}m${((abs % 60_000) / 1000).toFixed(1)}s`;
  if (abs < 86_400_000) return `${sign}${Math.floor(abs / 3_600_000)}h${Math.floor((abs % 3_600_000) / 60_000)}m`;
  return `${sign}${Math.floor(abs / 86_400_000)}d${Math.floor((abs % 86_400_000) / 3_600_000)}h`;
}

const signed = (n: number, unit: (n: number) => string) => (n > 0 ? `+${unit(n)}` : n < 0 ? `-${unit(-n)}` : `±${unit(0)}`);

export function deltaText(d: Delta): string {
  if (d.delta_ms === null) return "—";
  const pct = d.delta_pct === null ? "" : ` (${d.delta_pct > 0 ? "+" : ""}${d.delta_pct.toFixed(1)}%)`;
  return `${signed(d.delta_ms, ms)}${pct}`;
}

export function value(v: unknown, max = 60): string {
  const s = v === undefined ? "undefined" : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function table(rows: string[][], align: ("l" | "r")[] = []): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (align[i] === "r" ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

function clock(iso: string | null): string {
  return iso ? new Date(iso).toISOString().replace("T", " ") : "—";
}

function payloadSummary(p: Record<string, unknown>, max = 70): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(p)) {
    if (v === null || v === undefined) continue;
    if (k === "error" && typeof v === "object") {
      const e = v as Record<string, unknown>;
      parts.push(`error=${value(e.message, 50)}${e.where ? ` in ${String(e.where)}` : ""}`);
    } else if (typeof v === "object") parts.push(`${k}=${value(v, 30)}`);
    else parts.push(`${k}=${typeof v === "string" ? v : String(v)}`);
  }
  const s = parts.join(" ");
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Steps are numbered 1..n in run order: the numbers `replay --from-step <n>` takes. */
function entryRow(e: TimelineEntry, position: ReadonlyMap<number, number>): string[] {
  const when = e.offset_ms < 60_000 ? `+${(e.offset_ms / 1000).toFixed(3)}s` : `+${ms(e.offset_ms)}`;
  const gap = e.gap_ms > 0 ? ms(e.gap_ms) : "";
  if (e.kind === "event") {
    const where = [e.step ? `step=${e.step}` : "", e.tool ? `tool=${e.tool}` : ""].filter(Boolean).join(" ");
    return [when, gap, `● ${e.type}`, [where, payloadSummary(e.payload)].filter(Boolean).join(" "), ""];
  }
  const mark = e.status === "failed" ? "✗" : e.status === "running" ? "…" : "▸";
  const notes = [
    e.status,
    e.attempt > 1 ? `attempt ${e.attempt}` : "",
    e.reused_from_job ? `reused from ${shortId(e.reused_from_job)}` : "",
    e.error ? `error: ${value((e.error as { message?: unknown }).message ?? e.error, 60)}` : "",
  ].filter(Boolean);
  return [when, gap, `${mark} ${position.get(e.ordinal) ?? "?"}. ${e.name}`, notes.join(", "), ms(e.duration_ms)];
}

export function renderTimeline(t: Timeline): string {
  const j = t.job;
  const s = t.summary;
  const lines = [
    `job ${j.id}  ${j.agent_slug}${j.agent_version ? ` v${j.agent_version}` : ""}  ${j.job_type}  ${j.status}  attempts ${j.attempts}${j.max_attempts ? `/${j.max_attempts}` : ""}`,
    `created ${clock(j.created_at)}  queued ${ms(s.queue_ms)}  ran ${ms(s.run_ms)}  total ${ms(s.total_ms)}  steps ${s.steps_completed}/${s.steps} completed${s.steps_reused ? `, ${s.steps_reused} reused` : ""}${s.steps_failed ? `, ${s.steps_failed} failed` : ""}`,
  ];
  if (j.replay_of) lines.push(`replay of ${j.replay_of}${j.replay_from_step ? ` from step "${j.replay_from_step}"` : " from the start"}`);
  if (j.error) lines.push(`error: ${value(j.error.message ?? j.error, 100)}${j.error.where ? ` (in ${j.error.where})` : ""}`);
  if (t.dlq) {
    lines.push(
      `dlq ${t.dlq.id}: ${t.dlq.resolution ? `${t.dlq.resolution} by ${t.dlq.reviewed_by}${t.dlq.replay_job_id ? ` → ${t.dlq.replay_job_id}` : ""}` : "pending review"}`,
    );
  }
  for (const r of t.replays) lines.push(`replayed as ${r.id} (${r.status}${r.from_step ? `, from "${r.from_step}"` : ""})`);
  lines.push("");
  if (t.entries.length === 0) lines.push("(no events or steps recorded)");
  else {
    const ordinals = t.entries.flatMap((e) => (e.kind === "step" ? [e.ordinal] : [])).sort((x, y) => x - y);
    const position = new Map(ordinals.map((o, i) => [o, i + 1]));
    lines.push(...table([["at", "gap", "what", "detail", "took"], ...t.entries.map((e) => entryRow(e, position))], ["r", "r", "l", "l", "r"]));
  }
  return lines.join("\n");
}

export function renderReplay(r: ReplayResult): string {
  const from = r.from_step ? `from step "${r.from_step}"` : "from the start";
  const reused = r.reused_steps.length ? `; reuses recorded outputs of ${r.reused_steps.join(", ")}` : "";
  return `queued ${r.job_id}: replay of ${r.replay_of} (${r.agent_slug}) ${from}${reused}`;
}

// ---- diff -----------------------------------------------------------------------------------------

const MARK: Record<StepDiff["change"], string> = { added: "+", removed: "-", changed: "~", same: "=" };

export function changeLine(c: JsonChange): string {
  if (c.op === "added") return `+ ${c.path}: ${value(c.b)}`;
  if (c.op === "removed") return `- ${c.path}: ${value(c.a)}`;
  return `~ ${c.path}: ${value(c.a, 40)} → ${value(c.b, 40)}`;
}

function jsonDiffLines(d: JsonDiff, indent: string, max = 12): string[] {
  if (d.equal) return [];
  const shown = d.changes.slice(0, max).map((c) => indent + changeLine(c));
  const more = d.changes.length - shown.length;
  if (more > 0 || d.truncated) shown.push(`${indent}… ${more > 0 ? `${more} more` : "more"} (use --json for all)`);
  return shown;
}

function relationText(d: RunDiff): string {
  const r = d.relation;
  switch (r.kind) {
    case "b_replays_a":
      return `b replays a ${r.from_step ? `from step "${r.from_step}"` : "from the start"}`;
    case "a_replays_b":
      return `a replays b ${r.from_step ? `from step "${r.from_step}"` : "from the start"}`;
    case "replays_of_same_job":
      return `both replay ${r.original}`;
    case "same_agent":
      return `two runs of ${d.a.agent_slug}`;
    default:
      return `different agents: ${d.a.agent_slug} vs ${d.b.agent_slug}`;
  }
}

const pct = (d: Delta) => (d.delta_pct === null ? "" : `${d.delta_pct > 0 ? "+" : ""}${d.delta_pct.toFixed(1)}%`);

export function renderDiff(d: RunDiff): string {
  const side = (s: RunDiff["a"]) => `${shortId(s.id)} ${s.status}, ${s.attempts} attempt${s.attempts === 1 ? "" : "s"}`;
  const lines = [`diff  a ${side(d.a)}  →  b ${side(d.b)}   (${relationText(d)})`, ""];
  lines.push(`status    ${d.status.changed ? `~ ${d.status.a} → ${d.status.b}` : `= ${d.status.a}`}`);
  lines.push(`attempts  ${d.attempts.delta === 0 ? `= ${d.attempts.a}` : `~ ${d.attempts.a} → ${d.attempts.b} (${d.attempts.delta > 0 ? "+" : ""}${d.attempts.delta})`}`);
  lines.push(`input     ${d.input.equal ? "= same" : `${d.input.changes.length}${d.input.truncated ? "+" : ""} change${d.input.changes.length === 1 ? "" : "s"}`}`);
  lines.push(...jsonDiffLines(d.input, "            "));

  const s = d.summary;
  lines.push(
    "",
    `steps     ${s.steps_same} same, ${s.steps_changed} changed, ${s.steps_added} added, ${s.steps_removed} removed${d.first_divergence ? `; first divergence: ${d.first_divergence}` : ""}`,
  );
  if (d.steps.length > 0) {
    const rows: string[][] = [["", "step", "a", "b", "a time", "b time", "Δ", "Δ%", "what differs"]];
    const details: Map<number, string[]> = new Map();
    d.steps.forEach((st, i) => {
      const status = (x: StepDiff["a"]) => (x ? `${x.status}${x.mode === "reused" ? " (reused)" : ""}` : "—");
      rows.push([
        MARK[st.change],
        st.name,
        status(st.a),
        status(st.b),
        ms(st.timing.a_ms),
        ms(st.timing.b_ms),
        st.timing.delta_ms === null ? "" : signed(st.timing.delta_ms, ms),
        pct(st.timing),
        st.differences.join(", "),
      ]);
      const extra: string[] = [];
      if (st.output) extra.push(...jsonDiffLines(st.output, "        output ", 6));
      if (st.differences.includes("error")) {
        const msg = (e: StepDiff["a"]) => (e?.error ? value(e.error.message ?? e.error, 50) : "none");
        extra.push(`        error  ${msg(st.a)} → ${msg(st.b)}`);
      }
      if (extra.length) details.set(i + 1, extra);
    });
    const rendered = table(rows, ["l", "l", "l", "l", "r", "r", "r", "r", "l"]);
    rendered.forEach((line, i) => {
      lines.push(`  ${line}`);
      for (const x of details.get(i) ?? []) lines.push(x);
    });
  }

  lines.push("", `output    ${d.output.equal ? "= same" : `${d.output.changes.length}${d.output.truncated ? "+" : ""} change${d.output.changes.length === 1 ? "" : "s"}`}`);
  lines.push(...jsonDiffLines(d.output, "            "));
  if (d.error.changed) {
    const e = (x: RunDiff["error"]["a"]) => (x ? `${value(x.message ?? x, 60)}${x.where ? ` (in ${x.where})` : ""}` : "none");
    lines.push(`error     ~ ${e(d.error.a)} → ${e(d.error.b)}`);
  }
  const t = d.timing;
  lines.push(
    "",
    `timing    total ${ms(t.total.a_ms)} → ${ms(t.total.b_ms)} ${deltaText(t.total)}`,
    `          queue ${ms(t.queue.a_ms)} → ${ms(t.queue.b_ms)} ${deltaText(t.queue)} · run ${ms(t.run.a_ms)} → ${ms(t.run.b_ms)} ${deltaText(t.run)} · in steps ${ms(t.steps.a_ms)} → ${ms(t.steps.b_ms)} ${deltaText(t.steps)}`,
  );
  return lines.join("\n");
}
