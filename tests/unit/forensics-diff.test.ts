// diff_runs and its renderings, on timelines built in memory.
import { describe, expect, it } from "vitest";
import type { Timeline, TimelineStep } from "../../shared/forensics/contracts.ts";
import { computeRunDiff, delta, mergeStepOrder } from "../../shared/forensics/diff.ts";
import { jsonDiff } from "../../shared/forensics/json-diff.ts";
import { ms, renderDiff, renderTimeline } from "../../shared/forensics/render.ts";

function step(ordinal: number, name: string, extra: Partial<TimelineStep> = {}): TimelineStep {
  return {
    kind: "step",
    ordinal,
    name,
    status: "completed",
    attempt: 1,
    reused_from_job: null,
    input_hash: null,
    output: { n: ordinal },
    error: null,
    finished_at: null,
    duration_ms: 100,
    at: "2026-11-20T10:00:00Z",
    offset_ms: ordinal * 100,
    gap_ms: 0,
    ...extra,
  };
}

function timeline(id: string, steps: TimelineStep[], job: Partial<Timeline["job"]> = {}, total = 1000): Timeline {
  return {
    job: {
      id,
      agent_slug: "researcher",
      agent_version: 1,
      job_type: "research",
      status: "completed",
      attempts: 1,
      max_attempts: 3,
      worker_id: null,
      input: { topic: "x" },
      output: { ok: true },
      error: null,
      progress: null,
      replay_of: null,
      replay_from_step: null,
      created_at: "2026-11-20T10:00:00Z",
      started_at: "2026-11-20T10:00:00.1Z",
      finished_at: "2026-11-20T10:00:01Z",
      ...job,
    },
    summary: { events: 0, steps: steps.length, steps_completed: steps.length, steps_failed: 0, steps_running: 0, steps_reused: 0, step_ms: 100 * steps.length, queue_ms: 100, run_ms: total - 100, total_ms: total },
    replays: [],
    dlq: null,
    entries: steps,
  };
}

describe("jsonDiff", () => {
  it("lists added, removed and changed paths, keys sorted, arrays by position", () => {
    const d = jsonDiff({ b: 1, a: { x: [1, 2] }, "odd key": true }, { a: { x: [1, 3, 4] }, c: null, "odd key": true });
    expect(d.changes).toEqual([
      { op: "changed", path: "$.a.x[1]", a: 2, b: 3 },
      { op: "added", path: "$.a.x[2]", b: 4 },
      { op: "removed", path: "$.b", a: 1 },
      { op: "added", path: "$.c", b: null },
    ]);
    expect(jsonDiff({ "a b": 1 }, { "a b": 2 }).changes[0]!.path).toBe('$["a b"]');
    expect(jsonDiff({ a: [1] }, { a: [1] })).toEqual({ equal: true, changes: [], truncated: false });
    expect(jsonDiff({ a: 1 }, [1]).changes).toEqual([{ op: "changed", path: "$", a: { a: 1 }, b: [1] }]);
    expect(jsonDiff(null, { a: 1 }).changes).toEqual([{ op: "added", path: "$", b: { a: 1 } }]);
  });

  it("caps the list and says so", () => {
    const a = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const d = jsonDiff(a, {}, 10);
    expect(d.changes).toHaveLength(10);
    expect(d).toMatchObject({ equal: false, truncated: true });
  });
});

describe("mergeStepOrder and delta", () => {
  it("keeps both runs' order around the common steps", () => {
    expect(mergeStepOrder(["plan", "search", "fetch", "write"], ["plan", "fetch", "rank", "write"])).toEqual(["plan", "search", "fetch", "rank", "write"]);
    expect(mergeStepOrder([], ["a"])).toEqual(["a"]);
  });
  it("computes deltas in ms and percent", () => {
    expect(delta(200, 300)).toEqual({ a_ms: 200, b_ms: 300, delta_ms: 100, delta_pct: 50 });
    expect(delta(0, 300).delta_pct).toBeNull();
    expect(delta(null, 300)).toMatchObject({ delta_ms: null, delta_pct: null });
  });
});

describe("computeRunDiff", () => {
  const a = timeline("aaaaaaaa-0000-4000-8000-000000000000", [step(0, "plan"), step(1, "search"), step(2, "write")]);
  const b = timeline(
    "bbbbbbbb-0000-4000-8000-000000000000",
    [
      step(0, "plan", { reused_from_job: "aaaaaaaa-0000-4000-8000-000000000000", duration_ms: 0 }),
      step(1, "search", { output: { n: 99 }, duration_ms: 250 }),
      step(2, "rank"),
      step(3, "write", { status: "failed", error: { message: "quota" }, output: null, attempt: 3 }),
    ],
    { replay_of: "aaaaaaaa-0000-4000-8000-000000000000", replay_from_step: "search", status: "dead", attempts: 3, output: null, error: { message: "quota", where: "write" } },
    1500,
  );
  const d = computeRunDiff(a, b);

  it("matches steps by name and classifies them", () => {
    expect(d.relation).toEqual({ kind: "b_replays_a", from_step: "search" });
    expect(d.steps.map((s) => [s.name, s.change, s.differences])).toEqual([
      ["plan", "same", ["mode"]],
      ["search", "changed", ["output"]],
      ["rank", "added", []],
      ["write", "changed", ["status", "output", "error", "attempt"]],
    ]);
    expect(d.first_divergence).toBe("search");
    expect(d.steps[1]!.timing).toEqual({ a_ms: 100, b_ms: 250, delta_ms: 150, delta_pct: 150 });
    expect(d.timing.total).toEqual({ a_ms: 1000, b_ms: 1500, delta_ms: 500, delta_pct: 50 });
    expect(d.summary).toEqual({ input_changes: 0, output_changes: 1, steps_added: 1, steps_removed: 0, steps_changed: 2, steps_same: 1 });
  });

  it("renders a compact table with +/-/~/= markers", () => {
    const text = renderDiff(d);
    expect(text).toContain("b replays a from step \"search\"");
    expect(text).toMatch(/^ {2}= +plan +completed +completed \(reused\)/m);
    expect(text).toMatch(/^ {2}~ +search .*\+150ms +\+150\.0% +output$/m);
    expect(text).toMatch(/^ {2}\+ +rank +— +completed/m);
    expect(text).toContain("output ~ $.n: 1 → 99");
    expect(text).toContain('error  none → "quota"');
    expect(text).toContain("timing    total 1.00s → 1.50s +500ms (+50.0%)");
  });

  it("renders a timeline with step numbers a replay can use", () => {
    const text = renderTimeline(b);
    expect(text).toMatch(/2\. search/);
    expect(text).toContain("replay of aaaaaaaa-0000-4000-8000-000000000000 from step \"search\"");
    expect(text).toContain("reused from aaaaaaaa");
  });

  it("formats durations for people", () => {
    expect([ms(950), ms(1500), ms(61_000), ms(7_200_000), ms(90_000_000), ms(null)]).toEqual(["950ms", "1.50s", "1m1.0s", "2h0m", "1d1h", "—"]);
  });
});
