// Concurrency proof on PostgreSQL 15: reviewers racing on the same DLQ item enqueue exactly one job.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayDlq, replayDlqBulk, discardDlq } from "../../shared/dlq/queries.ts";
import { fromPgError } from "../../shared/errors.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";
import { createAgent, deadJob, ensurePgBoss, uniqueSlug } from "../support/dlq-scenarios.ts";

let f: FreshDatabase;
let agent: string;

beforeAll(async () => {
  f = await freshPgDatabase("dlq_conc", { poolSize: 24 });
  await ensurePgBoss(f.url);
  agent = await createAgent(f.db, uniqueSlug("dlq-conc"));
});
afterAll(() => f?.drop());

const svc = <T>(fn: Parameters<FreshDatabase["db"]["asRole"]>[1]) => f.db.asRole({ role: "service_role" }, fn) as Promise<T>;

describe("concurrent review of one DLQ item", () => {
  it("10 parallel replays enqueue one job and all return its id", async () => {
    const { jobId, dlqId } = await deadJob(f.db, agent);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => svc<Awaited<ReturnType<typeof replayDlq>>>((tx) => replayDlq(tx, dlqId, `reviewer-${i}`))),
    );
    const ids = new Set(results.map((r) => r.replay_job_id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.already_resolved)).toHaveLength(1);
    const jobs = await f.db.query(`select id from public.actp_jobs where replay_of = $1`, [jobId]);
    expect(jobs.rows).toHaveLength(1);
    const boss = await f.db.query(`select 1 from pgboss.job where id = $1`, [[...ids][0]]);
    expect(boss.rows).toHaveLength(1);
    const events = await f.db.query<{ type: string; n: number }>(
      `select type, count(*)::int as n from public.actp_events where job_id = $1 and type in ('job.replayed', 'dlq.reviewed') group by type order by type`,
      [jobId],
    );
    expect(events.rows).toEqual([
      { type: "dlq.reviewed", n: 1 },
      { type: "job.replayed", n: 1 },
    ]);
  });

  it("single replays racing a bulk replay and a discard still produce at most one outcome", async () => {
    const jobType = uniqueSlug("conc_type");
    const { jobId, dlqId } = await deadJob(f.db, agent, { topic: "race" }, jobType);
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) calls.push(svc((tx) => replayDlq(tx, dlqId, `r${i}`)));
    for (let i = 0; i < 3; i++) calls.push(svc((tx) => replayDlqBulk(tx, { filter: { job_type: jobType }, reviewer: `b${i}` })));
    for (let i = 0; i < 3; i++) calls.push(svc((tx) => discardDlq(tx, dlqId, `d${i}`)));
    const settled = await Promise.allSettled(calls);
    // Losers either see the winner's result or a 409; nothing else may fail.
    for (const s of settled) {
      if (s.status === "rejected") expect(fromPgError(s.reason)?.status).toBe(409);
    }
    const row = (await f.db.query<{ resolution: string; replay_job_id: string | null }>(
      `select resolution, replay_job_id from public.actp_dlq where id = $1`,
      [dlqId],
    )).rows[0]!;
    const jobs = await f.db.query(`select id from public.actp_jobs where replay_of = $1`, [jobId]);
    expect(jobs.rows).toHaveLength(row.resolution === "replayed" ? 1 : 0);
    const reviewed = await f.db.query(`select 1 from public.actp_events where job_id = $1 and type = 'dlq.reviewed'`, [jobId]);
    expect(reviewed.rows).toHaveLength(1);
  });
});
