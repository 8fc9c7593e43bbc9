// diff_runs (PRD §4.14): what changed between two runs of an agent, step by step. Steps are matched
// by name (names are stable, positions are not) and laid out in run order; the first step whose
// outcome differs is where the runs diverged, which is usually the question being asked.
import type { Delta, ErrorInfo, RunDiff, RunSide, StepDiff, StepSide, Timeline, TimelineStep } from "./contracts.ts";
import { jsonDiff, jsonEqual } from "./json-diff.ts";

export function delta(a: number | null | undefined, b: number | null | undefined): Delta {
  const av = a ?? null;
  const bv = b ?? null;
  const d = av === null || bv === null ? null : bv - av;
  return {
    a_ms: av,
    b_ms: bv,
    delta_ms: d,
    delta_pct: d === null || !av ? null : Math.round((d / av) * 1000) / 10,
  };
}

/** Names of both runs in one order: common steps by longest common subsequence, the rest where they occur. */
export function mergeStepOrder(a: readonly string[], b: readonly string[]): string[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (s: string) => {
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      add(a[i]!);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) add(a[i++]!);
    else add(b[j++]!);
  }
  while (i < n) add(a[i++]!);
  while (j < m) add(b[j++]!);
  return out;
}

function stepsOf(t: Timeline): TimelineStep[] {
  return t.entries.filter((e): e is TimelineStep => e.kind === "step").sort((x, y) => x.ordinal - y.ordinal);
}

function side(s: TimelineStep): StepSide {
  return {
    ordinal: s.ordinal,
    status: s.status,
    attempt: s.attempt,
    mode: s.reused_from_job ? "reused" : "ran",
    duration_ms: s.duration_ms,
    error: s.error ?? null,
  };
}

function diffStep(name: string, a: TimelineStep | undefined, b: TimelineStep | undefined): StepDiff {
  if (!a || !b) {
    return {
      name,
      change: a ? "removed" : "added",
      a: a ? side(a) : null,
      b: b ? side(b) : null,
      differences: [],
      output: null,
      timing: delta(a?.duration_ms, b?.duration_ms),
    };
  }
  const output = jsonDiff(a.output, b.output);
  const differences: StepDiff["differences"] = [];
  if (a.status !== b.status) differences.push("status");
  if (!output.equal) differences.push("output");
  if (!jsonEqual(a.error ?? null, b.error ?? null)) differences.push("error");
  if (Boolean(a.reused_from_job) !== Boolean(b.reused_from_job)) differences.push("mode");
  if (a.attempt !== b.attempt) differences.push("attempt");
  const outcome = differences.some((d) => d === "status" || d === "output" || d === "error");
  return {
    name,
    change: outcome ? "changed" : "same",
    a: side(a),
    b: side(b),
    differences,
    output: output.equal ? null : output,
    timing: delta(a.duration_ms, b.duration_ms),
  };
}

function runSide(t: Timeline): RunSide {
  const j = t.job;
  return {
    id: j.id,
    agent_slug: j.agent_slug,
    agent_version: j.agent_version,
    status: j.status,
    attempts: j.attempts,
    created_at: j.created_at,
    replay_of: j.replay_of,
    replay_from_step: j.replay_from_step,
  };
}

function relation(a: Timeline["job"], b: Timeline["job"]): RunDiff["relation"] {
  if (b.replay_of === a.id) return { kind: "b_replays_a", from_step: b.replay_from_step };
  if (a.replay_of === b.id) return { kind: "a_replays_b", from_step: a.replay_from_step };
  if (a.replay_of && a.replay_of === b.replay_of) return { kind: "replays_of_same_job", original: a.replay_of };
  return { kind: a.agent_slug === b.agent_slug ? "same_agent" : "different_agents" };
}

export function computeRunDiff(ta: Timeline, tb: Timeline): RunDiff {
  const sa = stepsOf(ta);
  const sb = stepsOf(tb);
  const byA = new Map(sa.map((s) => [s.name, s]));
  const byB = new Map(sb.map((s) => [s.name, s]));
  const order = mergeStepOrder(
    sa.map((s) => s.name),
    sb.map((s) => s.name),
  );
  const steps = order.map((name) => diffStep(name, byA.get(name), byB.get(name)));
  const input = jsonDiff(ta.job.input, tb.job.input);
  const output = jsonDiff(ta.job.output, tb.job.output);
  const ea: ErrorInfo | null = ta.job.error ?? null;
  const eb: ErrorInfo | null = tb.job.error ?? null;
  const count = (c: StepDiff["change"]) => steps.filter((s) => s.change === c).length;
  return {
    a: runSide(ta),
    b: runSide(tb),
    relation: relation(ta.job, tb.job),
    status: { a: ta.job.status, b: tb.job.status, changed: ta.job.status !== tb.job.status },
    attempts: { a: ta.job.attempts, b: tb.job.attempts, delta: tb.job.attempts - ta.job.attempts },
    input,
    steps,
    first_divergence: steps.find((s) => s.change !== "same")?.name ?? null,
    output,
    error: { a: ea, b: eb, changed: !jsonEqual(ea, eb) },
    timing: {
      total: delta(ta.summary.total_ms, tb.summary.total_ms),
      queue: delta(ta.summary.queue_ms, tb.summary.queue_ms),
      run: delta(ta.summary.run_ms, tb.summary.run_ms),
      steps: delta(ta.summary.step_ms, tb.summary.step_ms),
    },
    summary: {
      input_changes: input.changes.length,
      output_changes: output.changes.length,
      steps_added: count("added"),
      steps_removed: count("removed"),
      steps_changed: count("changed"),
      steps_same: count("same"),
    },
  };
}
