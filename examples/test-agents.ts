// Small agents the integration tests and the benchmark run in real worker processes.
// `crashy` records every step execution in a side table (example_step_runs, created by whoever runs
// it), so a test can prove that a step which completed before a crash never runs again.
// `bench` is three trivial durable steps: the benchmark's unit of work.
import { z } from "zod";
import { defineAgent } from "../node/worker/agents/index.ts";
import type { JobContext } from "../node/worker/context.ts";

const CrashyInput = z.object({ slow_ms: z.int().min(0).max(60_000).default(3000) });
type CrashyInput = z.infer<typeof CrashyInput>;

async function recordRun(ctx: JobContext, step: string): Promise<void> {
  await ctx.info.db.query(`insert into example_step_runs (job_id, step, worker_pid) values ($1, $2, $3)`, [ctx.jobId, step, process.pid]);
}

export const crashy = defineAgent({
  slug: "crashy",
  description: "Three steps, the middle one slow: kill its worker mid-job and see it resume elsewhere.",
  input: CrashyInput,
  handler: async (ctx: JobContext<CrashyInput>, input: CrashyInput) => {
    const a = await ctx.step("first", async () => (await recordRun(ctx, "first"), 1));
    const b = await ctx.step("slow", async () => {
      await recordRun(ctx, "slow");
      await new Promise((r) => setTimeout(r, input.slow_ms));
      return a + 1;
    });
    return ctx.step("last", async () => (await recordRun(ctx, "last"), { total: b + 1, pid: process.pid }));
  },
});

export const bench = defineAgent({
  slug: "bench",
  description: "Three trivial durable steps (benchmark workload).",
  input: z.object({ n: z.int() }),
  handler: async (ctx: JobContext<{ n: number }>, input: { n: number }) => {
    const a = await ctx.step("one", () => input.n + 1);
    const b = await ctx.step("two", () => a * 2);
    return ctx.step("three", () => ({ result: b + 1 }));
  },
});

const ForkedInput = z.object({ slow_ms: z.int().min(0).max(120_000).default(30_000) });
type ForkedInput = z.infer<typeof ForkedInput>;

export const forked = defineAgent({
  slug: "forked",
  description: "Two durable steps at once (Promise.all), one slow on its first attempt: kill its worker mid-job.",
  input: ForkedInput,
  handler: async (ctx: JobContext<ForkedInput>, input: ForkedInput) => {
    const [fast, slow] = await Promise.all([
      ctx.step("fast", async () => (await recordRun(ctx, "fast"), "f")),
      ctx.step("slow", async () => {
        await recordRun(ctx, "slow");
        if (ctx.attempt === 1) await new Promise((r) => setTimeout(r, input.slow_ms));
        return "s";
      }),
    ]);
    return ctx.step("join", async () => (await recordRun(ctx, "join"), { fast, slow, pid: process.pid }));
  },
});
