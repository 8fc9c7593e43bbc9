// Forensics on the embedded database: the merged timeline, fork-from-step replay, and run diffs,
// over runs built row by row.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ActpError, fromPgError } from "../../shared/errors.ts";
import { EVENT_TYPES } from "../../shared/events/registry.ts";
import { diffRuns, inspectTimeline, replayJob } from "../../shared/forensics/queries.ts";
import type { TimelineEvent, TimelineStep } from "../../shared/forensics/contracts.ts";
import { asRoleRolledBack, claimsFor, testDatabase } from "../support/db.ts";
import { at, createAgent, ensurePgBoss, insertEvent, insertJob, insertSteps, uniqueSlug } from "../support/dlq-scenarios.ts";

const db = testDatabase();
const svc = <T>(fn: Parameters<typeof db.asRole>[1]) => db.asRole({ role: "service_role" }, fn) as Promise<T>;
let agent: string;

beforeAll(async () => {
  await ensurePgBoss(inject("dbUrl"));
  agent = await createAgent(db, uniqueSlug("forensics"));
});
afterAll(() => db.end());

async function failure(p: Promise<unknown>): Promise<ActpError> {
  try {
    await p;
  } catch (err) {
    const e = err instanceof ActpError ? err : fromPgError(err);
    if (!e) throw err;
    return e;
  }
  throw new Error("expected a failure");
}

/** A researcher run: plan → search → fetch → synthesize, 4.2 s end to end. */
async function researchRun(opts: { input?: unknown; fetchOutput?: unknown; status?: string; failFetch?: boolean; base?: number } = {}) {
  const base = opts.base ?? Date.parse("2026-11-20T10:00:00Z");
  const status = opts.status ?? (opts.failFetch ? "failed" : "completed");
  const id = await insertJob(db, {
    agent,
    input: opts.input ?? { topic: "retrieval", depth: 2 },
    status,
    attempts: opts.failFetch ? 3 : 1,
    createdAt: at(base, 0),
    startedAt: at(base, 200),
    finishedAt: at(base, 4200),
    output: opts.failFetch ? undefined : { summary: "RAG beats fine-tuning for fresh facts", sources: 3 },
    error: opts.failFetch ? { message: "timeout", where: "fetch" } : undefined,
  });
  await insertEvent(db, { type: "job.received", jobId: id, at: at(base, 0), payload: { job_type: agent } });
  await insertEvent(db, { type: "job.dispatched", jobId: id, at: at(base, 200), payload: { queue: `actp.agent.${agent}` } });
  await insertSteps(db, id, [
    { ordinal: 0, name: "plan", startedAt: at(base, 250), finishedAt: at(base, 500), output: { queries: ["rag", "retrieval"] } },
    { ordinal: 1, name: "search", startedAt: at(base, 500), finishedAt: at(base, 1500), output: { hits: 12 } },
    opts.failFetch
      ? { ordinal: 2, name: "fetch", status: "failed", startedAt: at(base, 1500), finishedAt: at(base, 4100), error: { message: "timeout" } }
      : { ordinal: 2, name: "fetch", startedAt: at(base, 1500), finishedAt: at(base, 3000), output: opts.fetchOutput ?? { pages: 3 } },
    ...(opts.failFetch ? [] : [{ ordinal: 3, name: "synthesize", startedAt: at(base, 3000), finishedAt: at(base, 4100), output: { words: 420 } }]),
  ]);
  await insertEvent(db, {
    type: "job.progress",
    jobId: id,
    at: at(base, 1500),
    step: "search",
    payload: { message: "12 hits", pct: 40 },
  });
  await insertEvent(db, {
    type: opts.failFetch ? "job.failed" : "job.completed",
    jobId: id,
    at: at(base, 4200),
    payload: opts.failFetch
      ? { error: { message: "timeout", where: "fetch" }, attempt: 3, will_retry: false }
      : { duration_ms: 4200, attempt: 1 },
  });
  return id;
}

describe("inspect_timeline", () => {
  it("merges events and steps in time order with offsets, gaps and durations", async () => {
    const id = await researchRun();
    const t = await db.asRole(claimsFor("viewer"), (tx) => inspectTimeline(tx, id));
    const labels = t.entries.map((e) => (e.kind === "event" ? e.type : `step:${e.name}`));
    expect(labels).toEqual([
      "job.received",
      "job.dispatched",
      "step:plan",
      "step:search",
      "job.progress",
      "step:fetch",
      "step:synthesize",
      "job.completed",
    ]);
    const search = t.entries[3] as TimelineStep;
    expect(search).toMatchObject({ offset_ms: 500, gap_ms: 0, duration_ms: 1000, status: "completed", output: { hits: 12 } });
    const plan = t.entries[2] as TimelineStep;
    expect(plan).toMatchObject({ offset_ms: 250, gap_ms: 50, duration_ms: 250 });
    expect((t.entries.at(-1) as TimelineEvent).offset_ms).toBe(4200);
    expect(t.summary).toMatchObject({ events: 4, steps: 4, steps_completed: 4, queue_ms: 200, run_ms: 4000, total_ms: 4200, step_ms: 3850 });
    expect(t.job).toMatchObject({ id, agent_slug: agent, status: "completed", input: { topic: "retrieval", depth: 2 } });
  });

  it("404 for an unknown job", async () => {
    const e = await failure(inspectTimeline(db, randomUUID()));
    expect(e).toMatchObject({ code: "forensics.not_found", status: 404 });
  });
});

describe("replay_job", () => {
  it("forks from a step by name or 1-based position; the new job is linked and reuses what came before", async () => {
    const id = await researchRun();
    const byName = await svc<Awaited<ReturnType<typeof replayJob>>>((tx) => replayJob(tx, id, { fromStep: "fetch", requestedBy: "cli" }));
    expect(byName).toMatchObject({ replay_of: id, from_step: "fetch", reused_steps: ["plan", "search"] });
    const row = (await db.query(`select replay_of, replay_from_step, input, status from public.actp_jobs where id = $1`, [byName.job_id])).rows[0];
    expect(row).toEqual({ replay_of: id, replay_from_step: "fetch", input: { topic: "retrieval", depth: 2 }, status: "queued" });
    const ev = (await db.query<{ payload: Record<string, unknown> }>(`select payload from public.actp_events where job_id = $1 and type = 'job.replayed'`, [id])).rows;
    expect(ev).toHaveLength(1);
    expect(EVENT_TYPES["job.replayed"].payload.parse(ev[0]!.payload)).toMatchObject({ new_job_id: byName.job_id, from_step: "fetch", requested_by: "service_role", label: "cli" });

    const byOrdinal = await svc<Awaited<ReturnType<typeof replayJob>>>((tx) => replayJob(tx, id, { fromStep: "4" }));
    expect(byOrdinal).toMatchObject({ from_step: "synthesize", reused_steps: ["plan", "search", "fetch"] });
    const fromStart = await svc<Awaited<ReturnType<typeof replayJob>>>((tx) => replayJob(tx, id));
    expect(fromStart).toMatchObject({ from_step: null, reused_steps: [] });

    const t = await inspectTimeline(db, id);
    expect(t.replays.map((r) => r.id).sort()).toEqual([byName.job_id, byOrdinal.job_id, fromStart.job_id].sort());
  });

  it("400 for an unknown step (listing the steps), 404 for an unknown job, 409 while running, 400 past an unfinished step", async () => {
    const id = await researchRun();
    const unknown = await failure(svc((tx) => replayJob(tx, id, { fromStep: "render" })));
    expect(unknown).toMatchObject({ code: "forensics.unknown_step", status: 400 });
    expect(unknown.message).toContain("1. plan, 2. search, 3. fetch, 4. synthesize");
    expect((await failure(svc((tx) => replayJob(tx, id, { fromStep: "9" })))).code).toBe("forensics.unknown_step");
    expect(await failure(svc((tx) => replayJob(tx, randomUUID())))).toMatchObject({ code: "forensics.not_found", status: 404 });

    const running = await researchRun({ status: "running" });
    expect(await failure(svc((tx) => replayJob(tx, running)))).toMatchObject({ code: "forensics.conflict", status: 409 });

    const failed = await researchRun({ failFetch: true });
    await insertSteps(db, failed, [{ ordinal: 3, name: "report", status: "failed", startedAt: new Date().toISOString() }]);
    const past = await failure(svc((tx) => replayJob(tx, failed, { fromStep: "report" })));
    expect(past).toMatchObject({ code: "forensics.step_not_reusable", status: 400 });
    expect(past.message).toContain("fetch (failed)");
    // Nothing was created by any of the refusals.
    const n = await db.query(`select 1 from public.actp_jobs where replay_of = any($1)`, [[id, running, failed]]);
    expect(n.rows).toHaveLength(0);
  });

  it("is service-role only", async () => {
    const id = await researchRun();
    const e = await failure(asRoleRolledBack(db, "authenticated", (tx) => replayJob(tx, id)));
    expect(e.status).toBe(403);
  });
});

describe("diff_runs", () => {
  it("reports input paths, step changes, the divergence point, the final output and timing deltas", async () => {
    const a = await researchRun({ input: { topic: "retrieval", depth: 2, tags: ["a"] } });
    const b = await researchRun({
      input: { topic: "retrieval augmented generation", tags: ["a", "b"], lang: "en" },
      failFetch: true,
      base: Date.parse("2026-11-21T10:00:00Z"),
    });
    const d = await db.asRole(claimsFor("viewer"), (tx) => diffRuns(tx, a, b));
    expect(d.relation).toEqual({ kind: "same_agent" });
    expect(d.input.changes).toEqual([
      { op: "removed", path: "$.depth", a: 2 },
      { op: "added", path: "$.lang", b: "en" },
      { op: "added", path: "$.tags[1]", b: "b" },
      { op: "changed", path: "$.topic", a: "retrieval", b: "retrieval augmented generation" },
    ]);
    expect(d.steps.map((s) => [s.name, s.change])).toEqual([
      ["plan", "same"],
      ["search", "same"],
      ["fetch", "changed"],
      ["synthesize", "removed"],
    ]);
    const fetch = d.steps[2]!;
    expect(fetch.differences).toEqual(["status", "output", "error"]);
    expect(fetch.timing).toEqual({ a_ms: 1500, b_ms: 2600, delta_ms: 1100, delta_pct: 73.3 });
    expect(d.first_divergence).toBe("fetch");
    expect(d.status).toEqual({ a: "completed", b: "failed", changed: true });
    expect(d.attempts).toEqual({ a: 1, b: 3, delta: 2 });
    expect(d.output.changes).toEqual([{ op: "removed", path: "$", a: { summary: "RAG beats fine-tuning for fresh facts", sources: 3 } }]);
    expect(d.error).toMatchObject({ a: null, b: { message: "timeout", where: "fetch" }, changed: true });
    expect(d.timing.total).toEqual({ a_ms: 4200, b_ms: 4200, delta_ms: 0, delta_pct: 0 });
    expect(d.summary).toEqual({ input_changes: 4, output_changes: 1, steps_added: 0, steps_removed: 1, steps_changed: 1, steps_same: 2 });
  });

  it("knows a replay of a run, and its reused steps", async () => {
    const a = await researchRun({ fetchOutput: { pages: 3 } });
    const b = await researchRun({ fetchOutput: { pages: 5 } });
    await db.query(`update public.actp_jobs set replay_of = $1, replay_from_step = 'fetch' where id = $2`, [a, b]);
    await db.query(`update public.actp_job_steps set reused_from_job = $1 where job_id = $2 and ordinal < 2`, [a, b]);
    const d = await diffRuns(db, a, b);
    expect(d.relation).toEqual({ kind: "b_replays_a", from_step: "fetch" });
    expect(d.steps[0]).toMatchObject({ name: "plan", change: "same", differences: ["mode"], a: { mode: "ran" }, b: { mode: "reused" } });
    expect(d.steps[2]!.output?.changes).toEqual([{ op: "changed", path: "$.pages", a: 3, b: 5 }]);
    expect(d.first_divergence).toBe("fetch");
    expect((await failure(diffRuns(db, a, randomUUID()))).status).toBe(404);
  });
});
