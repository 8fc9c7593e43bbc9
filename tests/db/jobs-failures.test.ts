// Failures the runtime understands (issue 9), on the embedded database with a real pg-boss:
// NonRetriableError, a bad input, a duplicate step name and missing configuration go to the DLQ after
// one attempt with the reason in the DLQ entry and the timeline; RetryAfterError reschedules the job
// through pg-boss at that time; retry limits come from defineAgent. Also parallel steps (each its own
// name, scratchpad and tool-call attribution), real step start times, and strict input objects.
import { createServer, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { z } from "zod";
import { defineAgent } from "../../node/worker/agents/index.ts";
import type { JobContext } from "../../node/worker/context.ts";
import { NonRetriableError, RetryAfterError } from "../../node/worker/errors.ts";
import { JobWorker } from "../../node/worker/runtime.ts";
import { summarizer } from "../../examples/summarizer.ts";
import { ActpError } from "../../shared/errors.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { queueName } from "../../shared/jobs/queue.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase(12);
const url = inject("dbUrl");
const tag = randomBytes(3).toString("hex");
const slug = (name: string) => `jf-${name}-${tag}`;
const attemptsSeen = new Map<string, number>();
const seen = (id: string) => attemptsSeen.set(id, (attemptsSeen.get(id) ?? 0) + 1);

const Mode = z.object({ mode: z.enum(["non_retriable", "retry_after", "plain", "wrapped"]) });
type Mode = z.infer<typeof Mode>;

const thrower = defineAgent({
  slug: slug("thrower"),
  input: Mode,
  retry: { limit: 3, backoff: { type: "fixed", delayMs: 0 } },
  handler: async (ctx: JobContext<Mode>, input: Mode) => {
    seen(ctx.jobId);
    return ctx.step(`work-${ctx.attempt}`, () => {
      if (input.mode === "non_retriable") throw new NonRetriableError("the customer record is gone; retrying cannot bring it back");
      if (input.mode === "wrapped") throw new Error("lookup failed", { cause: new NonRetriableError("no such customer") });
      if (input.mode === "retry_after" && ctx.attempt === 1) throw new RetryAfterError("provider says come back later", 2500);
      if (input.mode === "plain") throw new Error(`flaky on attempt ${ctx.attempt}`);
      return { attempt: ctx.attempt };
    });
  },
});

const twice = defineAgent({
  slug: slug("twice"),
  input: z.object({}),
  handler: async (ctx: JobContext) => {
    seen(ctx.jobId);
    await ctx.step("same", () => 1);
    await ctx.step("same", () => 2);
  },
});

const Typed = z.object({ count: z.int() });
const typed = defineAgent({ slug: slug("typed"), input: Typed, handler: (ctx: JobContext) => (seen(ctx.jobId), null) });
const loose = defineAgent({ slug: slug("loose"), input: Typed, allowUnknownInput: true, handler: (_ctx: JobContext, input) => input });

const parallel = defineAgent({
  slug: slug("parallel"),
  input: z.object({}),
  handler: async (ctx: JobContext) => {
    const branch = (name: string, ms: number) =>
      ctx.step(name, async () => {
        ctx.scratch.set("me", name);
        await new Promise((r) => setTimeout(r, ms));
        const seenStep = ctx.currentStep();
        await ctx.tool(`echo.${name}`, { name }, { action_type: "read" }, async () => ({ from: seenStep }));
        await ctx.emit({ type: "job.progress", payload: { message: `${name} says hi` } });
        return { step: seenStep, scratch: ctx.scratch.get("me") };
      });
    const [a, b] = await Promise.all([branch("left", 150), branch("right", 30)]);
    return { a, b, outside: ctx.currentStep() };
  },
});

// Issue 8 §6 end to end: three parallel steps call a tool that has never settled, estimate 0,
// under a 10 USD budget, and each call costs 9. One is the probe; its twins are told cost_unknown
// and wait inside the attempt for its settle; then they reserve the 9 the tool was seen to cost and
// the budget refuses them, instead of spending 27.
const meterTool = `meter.${tag}`;
const prober = defineAgent({
  slug: slug("prober"),
  input: z.object({}),
  retry: { limit: 2, backoff: { type: "fixed", delayMs: 0 } },
  handler: async (ctx: JobContext) => {
    seen(ctx.jobId);
    const call = (name: string) =>
      ctx.step(name, () =>
        ctx.tool(meterTool, { name }, {}, async (scope) => {
          await new Promise((r) => setTimeout(r, 150));
          scope.reportCost(9);
          return name;
        }),
      );
    return Promise.all([call("a"), call("b"), call("c")]);
  },
});

const sleeper = defineAgent({
  slug: slug("sleeper"),
  input: z.object({}),
  handler: async (ctx: JobContext) => ctx.step("nap", () => new Promise((r) => setTimeout(() => r("rested"), 400))),
});

let worker: JobWorker;
let site: Server;
let siteUrl: string;
let savedKey: string | undefined;
let savedBase: string | undefined;

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const statusOf = (id: string, status: string) =>
  waitFor(`job ${id} ${status}`, async () => {
    const j = await plans.getJob(db, id);
    return j?.status === status ? j : null;
  });

async function timeline(jobId: string): Promise<{ type: string; payload: Record<string, unknown>; step_id: string | null; tool_name: string | null }[]> {
  const { rows } = await db.query<{ type: string; payload: Record<string, unknown>; step_id: string | null; tool_name: string | null }>(
    `select type, payload, step_id, tool_name from public.actp_events where job_id = $1 order by seq`,
    [jobId],
  );
  return rows;
}

async function dlqOf(jobId: string): Promise<{ failure_reason: string; retry_count: number; error: Record<string, unknown> } | undefined> {
  const { rows } = await db.query<{ failure_reason: string; retry_count: number; error: Record<string, unknown> }>(
    `select failure_reason, retry_count, error from public.actp_dlq where original_job_id = $1`,
    [jobId],
  );
  return rows[0];
}

beforeAll(async () => {
  savedKey = process.env.ANTHROPIC_API_KEY;
  savedBase = process.env.ANTHROPIC_BASE_URL;
  delete process.env.ANTHROPIC_API_KEY;
  delete process.env.ANTHROPIC_BASE_URL;
  site = createServer((_req, res) => res.end("<html><body>Durable steps record their output once.</body></html>"));
  await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
  siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/page`;
  // ctx.fetch refuses loopback unless an allowlist names the exact IP and port (allowlists are all
  // applied, so an earlier run's row for another port goes first).
  await db.query(`delete from public.actp_policies where scope = 'agent:summarizer' and description = 'jobs-failures: the local site'`);
  await db.query(
    `insert into public.actp_policies (scope, policy_type, config, description, allow_unknown) values ('agent:summarizer', 'allowlist', $1::jsonb, 'jobs-failures: the local site', true)`,
    [JSON.stringify({ allowed_domains: [new URL(siteUrl).host] })],
  );
  worker = new JobWorker({
    db,
    connectionString: url,
    agents: [thrower, twice, typed, loose, parallel, sleeper, summarizer, prober],
    concurrency: 2,
    heartbeatIntervalMs: 300,
    listenNotify: false,
    supervise: false,
  });
  await worker.start();
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await new Promise((r) => site?.close(r));
  if (savedKey !== undefined) process.env.ANTHROPIC_API_KEY = savedKey;
  if (savedBase !== undefined) process.env.ANTHROPIC_BASE_URL = savedBase;
  await db.end();
});

describe("failures the runtime understands", () => {
  it("sets the agent's retry policy on its pg-boss queue", async () => {
    const q = await worker.boss.getQueue(queueName(thrower.slug));
    expect(q).toMatchObject({ retryLimit: 3, retryDelay: 0, retryBackoff: false });
  });

  it("dead-letters a NonRetriableError after one attempt, with the reason in the DLQ and the timeline", async () => {
    const id = await submitJob(db, thrower.slug, { mode: "non_retriable" });
    const job = await statusOf(id, "dead");
    expect(job.attempts).toBe(1);
    expect(attemptsSeen.get(id)).toBe(1);
    const dlq = await waitFor("dlq entry", () => dlqOf(id));
    expect(dlq.failure_reason).toMatch(/^not retried \(jobs\.non_retriable\): NonRetriableError: the customer record is gone/);
    expect(dlq.retry_count).toBe(0);
    const events = await timeline(id);
    expect(events.map((e) => e.type)).not.toContain("job.retrying");
    expect(events.find((e) => e.type === "job.failed")?.payload).toMatchObject({
      will_retry: false,
      reason: "non_retriable",
      error: { code: "jobs.non_retriable" },
    });
    const boss = await waitFor("pg-boss dead-lettered it", async () => {
      const { rows } = await db.query<{ state: string; retry_count: number }>(`select state::text, retry_count from pgboss.job where id = $1`, [id]);
      return rows[0]?.state === "failed" ? rows[0] : null;
    });
    expect(boss.retry_count).toBe(0);
    const { rows } = await db.query(`select 1 from pgboss.job where name = 'actp.dlq' and source_id = $1`, [id]);
    expect(rows).toHaveLength(1);
  });

  it("follows the cause chain: a NonRetriableError wrapped in another error is still not retried", async () => {
    const id = await submitJob(db, thrower.slug, { mode: "wrapped" });
    const job = await statusOf(id, "dead");
    expect(job.attempts).toBe(1);
  });

  it("reschedules a RetryAfterError at its time through pg-boss's startAfter, and says so", async () => {
    const submitted = Date.now();
    const id = await submitJob(db, thrower.slug, { mode: "retry_after" });
    const retrying = await waitFor("job.retrying", async () => (await timeline(id)).find((e) => e.type === "job.retrying"));
    expect(retrying.payload).toMatchObject({ attempt: 2, reason: "retry_after" });
    expect(Number(retrying.payload.delay_ms)).toBeGreaterThan(1500);
    const runAt = Date.parse(String(retrying.payload.run_at));
    expect(runAt - submitted).toBeGreaterThan(2000);
    const { rows } = await db.query<{ start_after: Date }>(`select start_after from pgboss.job where id = $1`, [id]);
    expect(Math.abs(rows[0]!.start_after.getTime() - runAt)).toBeLessThan(5);
    const job = await statusOf(id, "completed");
    expect(job.output).toEqual({ attempt: 2 });
    expect(Date.parse(job.finished_at!)).toBeGreaterThanOrEqual(runAt);
  });

  it("retries a plain error up to the agent's limit, then dead-letters it as retries_exhausted", async () => {
    const id = await submitJob(db, thrower.slug, { mode: "plain" });
    const job = await statusOf(id, "dead");
    expect(job.attempts).toBe(4);
    const failed = (await timeline(id)).filter((e) => e.type === "job.failed").map((e) => [e.payload.will_retry, e.payload.reason]);
    expect(failed).toEqual([
      [true, "backoff"],
      [true, "backoff"],
      [true, "backoff"],
      [false, "retries_exhausted"],
    ]);
    expect((await waitFor("dlq entry", () => dlqOf(id))).failure_reason).toMatch(/^Error: flaky on attempt 4/);
  });

  it("does not retry a duplicate step name", async () => {
    const id = await submitJob(db, twice.slug, {});
    const job = await statusOf(id, "dead");
    expect(job.attempts).toBe(1);
    expect((await waitFor("dlq entry", () => dlqOf(id))).failure_reason).toMatch(/^not retried \(jobs\.duplicate_step\)/);
  });

  it("does not retry an input that fails the agent's schema when the attempt starts", async () => {
    // Straight through SQL, as an old client or a hand-written row could: the worker's parse refuses it.
    const { rows } = await db.query<{ id: string }>(`select public.actp_jobs_submit($1, '{"count":"seven"}'::jsonb) as id`, [typed.slug]);
    const id = rows[0]!.id;
    const job = await statusOf(id, "dead");
    expect(job.attempts).toBe(1);
    expect(attemptsSeen.get(id)).toBeUndefined();
    expect(job.error).toMatchObject({ code: "jobs.invalid_input", retriable: false });
    expect((await waitFor("dlq entry", () => dlqOf(id))).failure_reason).toMatch(/^not retried \(jobs\.invalid_input\): .*count/);
  });

  it("sends the README's summarizer without an API key to the DLQ after one attempt, saying why", async () => {
    const id = await submitJob(db, summarizer.slug, { url: siteUrl });
    const job = await statusOf(id, "dead");
    expect(job.attempts).toBe(1);
    const dlq = await waitFor("dlq entry", () => dlqOf(id));
    expect(dlq.failure_reason).toMatch(/^not retried \(llm\.not_configured\): .*ANTHROPIC_API_KEY/);
    expect(dlq.failure_reason).toContain('step "summarize"');
  });
});

describe("strict input", () => {
  it("refuses unknown keys at submit unless the agent allows them", async () => {
    const err = await submitJob(db, typed.slug, { count: 1, cuont: 2 }).then(
      () => null,
      (e: unknown) => e as ActpError,
    );
    expect(err).toBeInstanceOf(ActpError);
    expect(err).toMatchObject({ code: "jobs.invalid_input", status: 400 });
    expect(JSON.stringify(err!.details)).toContain("cuont");
    expect(typed.registration.input_schema).toMatchObject({ additionalProperties: false });

    const id = await submitJob(db, loose.slug, { count: 1, extra: true });
    expect((await statusOf(id, "completed")).output).toEqual({ count: 1 });
  });
});

describe("parallel steps", () => {
  it("gives each step of a Promise.all its own name, scratchpad and tool-call attribution", async () => {
    const id = await submitJob(db, parallel.slug, {});
    const job = await statusOf(id, "completed");
    expect(job.output).toEqual({ a: { step: "left", scratch: "left" }, b: { step: "right", scratch: "right" }, outside: null });
    expect(job.steps.map((s) => [s.name, s.status]).sort()).toEqual([
      ["left", "completed"],
      ["right", "completed"],
    ]);
    expect(new Set(job.steps.map((s) => s.ordinal)).size).toBe(2);
    const events = await timeline(id);
    const toolSteps = events.filter((e) => e.type === "tool.call_started").map((e) => [e.tool_name, e.step_id]);
    expect(toolSteps.sort()).toEqual([
      ["echo.left", "left"],
      ["echo.right", "right"],
    ]);
    const progress = events.filter((e) => e.type === "job.progress").map((e) => [e.payload.message, e.step_id]);
    expect(progress.sort()).toEqual([
      ["left says hi", "left"],
      ["right says hi", "right"],
    ]);
  });

  it("runs one probe of a never-settled tool under a budget; its twins wait for its cost, so 9 is spent, not 27", async () => {
    await db.query(
      `insert into public.actp_policies (scope, policy_type, config, description) values ($1, 'budget', '{"daily_usd": 10}'::jsonb, 'jobs-failures: probe')`,
      [`agent:${prober.slug}`],
    );
    const id = await submitJob(db, prober.slug, {});
    const message = (e: { payload: Record<string, unknown> }) => (e.payload.error as { message?: string } | undefined)?.message ?? "";
    const failed = (ev: { type: string; payload: Record<string, unknown> }[]) => ev.filter((e) => e.type === "tool.call_failed").map(message);
    // A twin's budget denial comes with the day's end as its retry_after: the job waits there (the
    // other twin, still waiting, goes down with the attempt).
    const events = await waitFor("the job's retry at the budget's time", async () => {
      const ev = await timeline(id);
      return ev.some((e) => e.type === "job.retrying") && ev;
    });
    expect(failed(events).filter((m) => /daily budget/.test(m)).length).toBeGreaterThanOrEqual(1);
    // The twins were told the cost is not known yet (at least once each), and waited for the probe.
    expect(failed(events).filter((m) => /not known yet/.test(m)).length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.type === "tool.call_completed")).toHaveLength(1);
    expect(events.find((e) => e.type === "job.retrying")?.payload).toMatchObject({ reason: "policy_retry_after" });
    // One attempt: the probe was not aborted by its twins' denials.
    expect(attemptsSeen.get(id)).toBe(1);
    const { rows } = await db.query<{ spent: string }>(`select coalesce(sum(cost_usd), 0) as spent from public.actp_budget_ledger where agent_slug = $1`, [prober.slug]);
    expect(Number(rows[0]!.spent)).toBe(9);
  });

  it("records when a step started, not when its running row was written", async () => {
    const id = await submitJob(db, sleeper.slug, {});
    const job = await statusOf(id, "completed");
    expect(job.steps[0]!.duration_ms).toBeGreaterThanOrEqual(395);
  });
});
