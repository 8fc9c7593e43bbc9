// The DLQ and forensics against the worker runtime's own SQL (submit, start, durable steps, fail,
// complete), as a worker drives it: a job dies, is reviewed and replayed, and a fork from a step
// reuses the recorded outputs and diffs against the original.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Queryable } from "../../shared/db/types.ts";
import { getDlqItem, replayDlq } from "../../shared/dlq/queries.ts";
import { diffRuns, inspectTimeline, replayJob } from "../../shared/forensics/queries.ts";
import { testDatabase } from "../support/db.ts";
import { createAgent, ensurePgBoss, uniqueSlug } from "../support/dlq-scenarios.ts";

const db = testDatabase();
const svc = <T>(fn: (tx: Queryable) => Promise<T>) => db.asRole({ role: "service_role" }, fn);
let agent: string;

beforeAll(async () => {
  await ensurePgBoss(inject("dbUrl"));
  agent = await createAgent(db, uniqueSlug("flow"));
});
afterAll(() => db.end());

const one = async <T>(tx: Queryable, sql: string, values: unknown[]) => (await tx.query<{ v: T }>(sql, values)).rows[0]!.v;

async function step(tx: Queryable, job: string, name: string, output: unknown, error: unknown = null) {
  await tx.query(`select public.actp_jobs_step_begin($1, $2, null, 1)`, [job, name]);
  await tx.query(`select public.actp_jobs_step_finish($1, $2, $3::jsonb, $4::jsonb)`, [job, name, JSON.stringify(output), error === null ? null : JSON.stringify(error)]);
}

describe("a job driven by the runtime's statements", () => {
  it("dies into the DLQ, is replayed once, and forks from a step reusing what came before", async () => {
    const queue = `actp.agent.${agent}`;
    const id = await svc((tx) => one<string>(tx, `select public.actp_jobs_submit($1, $2::jsonb) as v`, [agent, JSON.stringify({ topic: "pgvector" })]));
    const error = { message: "upstream returned 503", name: "HttpError", where: "fetchPage (agent.ts:42:7)", step: "fetch" };
    await svc(async (tx) => {
      await tx.query(`select public.actp_jobs_start($1, 'w-flow', 1, $2, 60)`, [id, queue]);
      await step(tx, id, "plan", { queries: ["pgvector hnsw"] });
      await step(tx, id, "fetch", null, { message: "upstream returned 503" });
      await tx.query(`select public.actp_jobs_fail($1, 'w-flow', 1, $2::jsonb, false, 0, null)`, [id, JSON.stringify(error)]);
    });

    const dlq = (await db.query<{ id: string; failure_reason: string }>(`select id, failure_reason from public.actp_dlq where original_job_id = $1`, [id])).rows[0]!;
    expect(dlq.failure_reason).toBe('HttpError: upstream returned 503 (step "fetch", thrown at fetchPage (agent.ts:42:7))');
    const item = await getDlqItem(db, dlq.id);
    // One transaction gives every row the same timestamp, so only the set is checked here.
    expect(item.errors.map((e) => e.source).sort()).toEqual(["attempt", "job", "step"]);

    const r1 = await svc((tx) => replayDlq(tx, dlq.id, "ana"));
    const r2 = await svc((tx) => replayDlq(tx, dlq.id, "ana"));
    expect(r2.replay_job_id).toBe(r1.replay_job_id);
    const received = await db.query<{ payload: { source: string } }>(`select payload from public.actp_events where job_id = $1 and type = 'job.received'`, [r1.replay_job_id]);
    expect(received.rows[0]!.payload.source).toBe("dlq");

    // Fork the dead job from "fetch": the runtime copies "plan" as reused, the fork runs "fetch".
    const fork = await svc((tx) => replayJob(tx, id, { fromStep: "fetch", requestedBy: "test" }));
    expect(fork.reused_steps).toEqual(["plan"]);
    await svc(async (tx) => {
      await tx.query(`select public.actp_jobs_start($1, 'w-flow', 1, $2, 60)`, [fork.job_id, queue]);
      await step(tx, fork.job_id, "fetch", { pages: 4 });
      await tx.query(`select public.actp_jobs_complete($1, 'w-flow', 1, $2::jsonb)`, [fork.job_id, JSON.stringify({ summary: "ok" })]);
    });

    const t = await inspectTimeline(db, fork.job_id);
    const steps = t.entries.filter((e) => e.kind === "step");
    expect(steps.map((s) => [s.kind === "step" && s.name, s.kind === "step" && s.reused_from_job])).toEqual([
      ["plan", id],
      ["fetch", null],
    ]);
    expect(t.job).toMatchObject({ status: "completed", replay_of: id, replay_from_step: "fetch" });

    const d = await diffRuns(db, id, fork.job_id);
    expect(d.relation).toEqual({ kind: "b_replays_a", from_step: "fetch" });
    expect(d.steps.map((s) => [s.name, s.change, s.b?.mode])).toEqual([
      ["plan", "same", "reused"],
      ["fetch", "changed", "ran"],
    ]);
    expect(d.status).toEqual({ a: "dead", b: "completed", changed: true });
    expect(d.first_divergence).toBe("fetch");
  });
});
