// The job runtime on the embedded database with a real pg-boss: submit (and what it refuses without
// writing anything), the worker's lifecycle records, durable steps across retries, final failure,
// cancellation, replay from a step, and the supervisor's requeue of a dead worker's job.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { z } from "zod";
import { defineAgent, syncAgents } from "../../node/worker/agents/index.ts";
import { createBoss } from "../../node/worker/boss.ts";
import type { JobContext } from "../../node/worker/context.ts";
import { JobWorker } from "../../node/worker/runtime.ts";
import { ActpError } from "../../shared/errors.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { ACTP_QUEUE_DEFAULTS, queueName } from "../../shared/jobs/queue.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase(12);
const url = inject("dbUrl");
const tag = randomBytes(3).toString("hex");
const slug = (name: string) => `jr-${name}-${tag}`;

// Executions per (job, step), counted in memory: the worker runs in this process.
const runs = new Map<string, number>();
const count = (jobId: string, step: string) => runs.set(`${jobId}:${step}`, (runs.get(`${jobId}:${step}`) ?? 0) + 1);
const ran = (jobId: string, step: string) => runs.get(`${jobId}:${step}`) ?? 0;

const Input = z.object({ n: z.int(), fail: z.enum(["never", "once", "always"]).default("never") });
type Input = z.infer<typeof Input>;

const threeSteps = defineAgent({
  slug: slug("steps"),
  input: Input,
  handler: async (ctx: JobContext<Input>, input: Input) => {
    const a = await ctx.step("a", () => (count(ctx.jobId, "a"), input.n + 1));
    await ctx.progress({ message: "a done", pct: 33 });
    const b = await ctx.step("b", () => {
      count(ctx.jobId, "b");
      if (input.fail === "always" || (input.fail === "once" && ctx.attempt === 1)) throw new Error(`b failed on attempt ${ctx.attempt}`);
      ctx.scratch.set("seen", true);
      return { value: a * 2, at: new Date(0) };
    });
    const c = await ctx.step("c", () => (count(ctx.jobId, "c"), b.value + 1));
    return { c };
  },
});

const waiter = defineAgent({
  slug: slug("waiter"),
  input: z.object({}),
  handler: async (ctx: JobContext) => {
    await ctx.step("wait", () => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))));
  },
});

const twice = defineAgent({
  slug: slug("twice"),
  input: z.object({}),
  handler: async (ctx: JobContext) => {
    await ctx.step("same", () => 1);
    await ctx.step("same", () => 2);
  },
});

const disabled = defineAgent({ slug: slug("off"), input: z.object({}), handler: () => null });

let worker: JobWorker;

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const statusOf = (id: string, status: string) => waitFor(`job ${id} ${status}`, async () => {
  const j = await plans.getJob(db, id);
  return j?.status === status ? j : null;
});

async function eventTypes(jobId: string): Promise<string[]> {
  const { rows } = await db.query<{ type: string }>(`select type from public.actp_events where job_id = $1 order by seq`, [jobId]);
  return rows.map((r) => r.type);
}

async function counts(): Promise<{ jobs: number; boss: number }> {
  const { rows } = await db.query<{ jobs: number; boss: number }>(
    `select (select count(*) from public.actp_jobs)::int as jobs, (select count(*) from pgboss.job)::int as boss`,
  );
  return rows[0]!;
}

beforeAll(async () => {
  worker = new JobWorker({
    db,
    connectionString: url,
    agents: [threeSteps, waiter, twice],
    concurrency: 2,
    heartbeatIntervalMs: 300,
    listenNotify: false,
    supervise: false,
    // Immediate retries keep the test fast; backoff itself is pg-boss's and not under test here.
    queue: { retryLimit: 1, retryDelay: 0, retryBackoff: false },
  });
  await worker.start();
  await syncAgents(db, [disabled]);
  await db.query(`update public.actp_agent_definitions set enabled = false where slug = $1`, [disabled.slug]);
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await db.end();
});

describe("submit", () => {
  it("keeps the SQL queue defaults equal to the worker's", async () => {
    const { rows } = await db.query<{ d: unknown }>(`select public.actp_jobs_queue_defaults() as d`);
    expect(rows[0]!.d).toEqual(ACTP_QUEUE_DEFAULTS);
  });

  it("writes the pg-boss job, actp's record and job.received in one call", async () => {
    const id = await submitJob(db, threeSteps.slug, { n: 1 }, { priority: 5, start_after: 3600, retry_limit: 4 });
    const { rows } = await db.query<{ state: string; priority: number; retry_limit: number; dead_letter: string; heartbeat_seconds: number; name: string; deferred: boolean }>(
      `select state::text, priority, retry_limit, dead_letter, heartbeat_seconds, name, start_after > now() + interval '50 minutes' as deferred
         from pgboss.job where id = $1`,
      [id],
    );
    expect(rows[0]).toMatchObject({ state: "created", priority: 5, retry_limit: 4, dead_letter: "actp.dlq", name: queueName(threeSteps.slug), deferred: true });
    const job = await plans.getJob(db, id);
    expect(job).toMatchObject({ status: "queued", agent: threeSteps.slug, max_attempts: 5, attempts: 0 });
    expect(await eventTypes(id)).toEqual(["job.received"]);
    await plans.cancel(db, id, "test", "not needed");
  });

  it("refuses unknown and disabled agents, bad input and bad options, writing nothing", async () => {
    const before = await counts();
    const fail = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as ActpError);
    const unknown = await fail(submitJob(db, slug("nope"), {}));
    expect(unknown).toMatchObject({ code: "jobs.agent_not_found", status: 404 });
    expect(await fail(submitJob(db, disabled.slug, {}))).toMatchObject({ code: "jobs.agent_disabled", status: 409 });
    const bad = await fail(submitJob(db, threeSteps.slug, { n: "x" }));
    expect(bad).toMatchObject({ code: "jobs.invalid_input", status: 400 });
    expect((bad!.details as { issues: { path: unknown[] }[] }).issues[0]!.path).toEqual(["n"]);
    expect(await fail(submitJob(db, threeSteps.slug, { n: 1 }, { priority: "high" } as never))).toMatchObject({ code: "jobs.invalid_options", status: 400 });
    // The SQL function refuses on its own too (callers that skip the TypeScript checks).
    const sqlUnknown = await fail(plans.submit(db, slug("nope"), {}));
    expect((sqlUnknown as unknown as { message: string }).message).toMatch(/^jobs\.agent_not_found:/);
    expect(await fail(submitJob(db, threeSteps.slug, { n: 1 }, { replay_of: "00000000-0000-4000-8000-000000000000" }))).toMatchObject({
      code: "jobs.replay_source_not_found",
      status: 404,
    });
    expect(await counts()).toEqual(before);
  });
});

describe("worker", () => {
  it("runs a job through its steps and records every lifecycle change", async () => {
    const id = await submitJob(db, threeSteps.slug, { n: 1 });
    const job = await statusOf(id, "completed");
    expect(job.output).toEqual({ c: 5 });
    expect(job.attempts).toBe(1);
    expect(job.worker_id).toBe(worker.workerId);
    expect(job.steps.map((s) => [s.name, s.status, s.ordinal])).toEqual([["a", "completed", 0], ["b", "completed", 1], ["c", "completed", 2]]);
    expect(await eventTypes(id)).toEqual(["job.received", "job.dispatched", "run.claimed", "job.progress", "job.completed"]);
    const { rows } = await db.query<{ input_hash: string }>(`select input_hash from public.actp_job_steps where job_id = $1 and name = 'a'`, [id]);
    expect(rows[0]!.input_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(worker.scratchpads.stats().jobs).toBe(0);
  });

  it("resumes after a failed attempt without re-running completed steps", async () => {
    const id = await submitJob(db, threeSteps.slug, { n: 2, fail: "once" });
    const job = await statusOf(id, "completed");
    expect(job.attempts).toBe(2);
    expect([ran(id, "a"), ran(id, "b"), ran(id, "c")]).toEqual([1, 2, 1]);
    expect(job.steps.find((s) => s.name === "b")).toMatchObject({ status: "completed", attempt: 2 });
    expect(await eventTypes(id)).toEqual([
      "job.received", "job.dispatched", "run.claimed", "job.progress", "job.failed", "job.retrying",
      "job.dispatched", "run.claimed", "job.progress", "job.completed",
    ]);
    const { rows } = await db.query<{ payload: { will_retry: boolean; error: { step: string } } }>(
      `select payload from public.actp_events where job_id = $1 and type = 'job.failed'`, [id]);
    expect(rows[0]!.payload).toMatchObject({ will_retry: true, error: { step: "b" } });
  });

  it("marks a job dead with its error once retries are exhausted, and pg-boss dead-letters it", async () => {
    const id = await submitJob(db, threeSteps.slug, { n: 3, fail: "always" });
    const job = await statusOf(id, "dead");
    expect(job.error).toMatchObject({ message: "b failed on attempt 2", name: "Error", step: "b" });
    expect((job.error as { where: string }).where).toMatch(/jobs-runtime\.test\.ts/);
    expect(job.finished_at).not.toBeNull();
    const dlq = await waitFor("dead letter copy", async () => {
      const { rows } = await db.query(`select 1 from pgboss.job where name = 'actp.dlq' and source_id = $1`, [id]);
      return rows.length > 0;
    });
    expect(dlq).toBe(true);
    expect((await eventTypes(id)).filter((t) => t === "job.failed")).toHaveLength(2);
  });

  it("aborts a running handler when the job is cancelled", async () => {
    const id = await submitJob(db, waiter.slug, {});
    await statusOf(id, "running");
    const t0 = Date.now();
    await plans.cancel(db, id, "test", "changed my mind");
    await waitFor("step to fail on abort", async () => {
      const { rows } = await db.query<{ status: string }>(`select status from public.actp_job_steps where job_id = $1`, [id]);
      return rows[0]?.status === "failed";
    }, 5000);
    expect(Date.now() - t0).toBeLessThan(3000);
    const job = await plans.getJob(db, id);
    expect(job?.status).toBe("cancelled");
    const { rows } = await db.query<{ state: string }>(`select state::text from pgboss.job where id = $1`, [id]);
    expect(rows[0]!.state).toBe("cancelled");
    expect(await eventTypes(id)).toContain("job.cancelled");
    const again = await plans.cancel(db, id, null, null).then(() => null, (e: unknown) => e as Error);
    expect(again?.message).toMatch(/^jobs\.not_cancellable:/);
  });

  it("refuses a step name used twice in one run", async () => {
    const id = await submitJob(db, twice.slug, {}, { retry_limit: 0 });
    const job = await statusOf(id, "dead");
    expect(job.error).toMatchObject({ name: "DuplicateStepError", code: "jobs.duplicate_step" });
  });

  it("replays from a step, reusing the outputs recorded before it", async () => {
    const original = await submitJob(db, threeSteps.slug, { n: 10 });
    await statusOf(original, "completed");
    const replay = await submitJob(db, threeSteps.slug, { n: 10 }, { replay_of: original, replay_from_step: "b", source: "replay" });
    const job = await statusOf(replay, "completed");
    expect(job.output).toEqual({ c: 23 });
    expect([ran(replay, "a"), ran(replay, "b"), ran(replay, "c")]).toEqual([0, 1, 1]);
    expect(job.steps.find((s) => s.name === "a")?.reused_from_job).toBe(original);
    expect(job.replay_of).toBe(original);
  });
});

describe("supervisor", () => {
  it("marks a silent worker dead and requeues its job through pg-boss", async () => {
    const ghost = `ghost-${tag}`;
    const quiet = defineAgent({ slug: slug("quiet"), input: z.object({}), handler: () => null });
    await syncAgents(db, [quiet]);
    const boss = createBoss(url, { supervise: false, listenNotify: false, max: 2 });
    await boss.start();
    try {
      const id = await submitJob(db, quiet.slug, {});
      const [claimed] = await boss.fetch(queueName(quiet.slug));
      expect(claimed?.id).toBe(id);
      await plans.registerWorker(db, { workerId: ghost, host: "elsewhere", pid: 1, agents: [quiet.slug], rssBytes: 1 });
      expect(await plans.startJob(db, { jobId: id, workerId: ghost, attempt: 1, queue: queueName(quiet.slug), leaseSeconds: 30 })).not.toBeNull();
      await db.query(`update public.actp_worker_registrations set last_heartbeat_at = now() - interval '10 minutes' where worker_id = $1`, [ghost]);

      const r = await plans.supervisorTick(db, 60);
      // Other test files tick the same database (jobs-timeout): one of theirs may have found the
      // ghost first. What must hold is the end state, reached exactly once (one heartbeat.stale).
      if (r.dead_workers.includes(ghost)) expect(r.released).toBeGreaterThanOrEqual(1);
      const { rows } = await db.query<{ state: string; status: string; w: string }>(
        `select b.state::text as state, j.status, w.status as w from pgboss.job b
           join public.actp_jobs j on j.id = b.id
           join public.actp_worker_registrations w on w.worker_id = $2
          where b.id = $1`,
        [id, ghost],
      );
      expect(rows[0]).toEqual({ state: "retry", status: "retrying", w: "dead" });
      expect(await eventTypes(id)).toEqual(expect.arrayContaining(["agent.stalled", "job.retrying"]));
      const stale = await db.query(`select 1 from public.actp_events where type = 'heartbeat.stale' and payload->>'worker_id' = $1`, [ghost]);
      expect(stale.rowCount).toBe(1);
      // A second tick finds nothing more to do.
      expect((await plans.supervisorTick(db, 60)).dead_workers).not.toContain(ghost);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });

  it("is the critical every-minute schedule", async () => {
    const { rows } = await db.query(`select cron_expr, critical, command from public.actp_schedules where name = 'actp:supervisor:tick'`);
    expect(rows[0]).toEqual({ cron_expr: "* * * * *", critical: true, command: "select public.actp_supervisor_tick()" });
  });
});
