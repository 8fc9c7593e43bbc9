// Incident mode's fail fast (PRD §4.10) through the real worker and pg-boss on PostgreSQL 15, in a
// database of its own (the mode is global): while the platform is in incident mode a failing job
// is tried twice and dead-lettered with reason incident_fail_fast, however many retries its agent
// allows; in normal mode the same agent uses all of them.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAgent } from "../../node/worker/agents/index.ts";
import type { JobContext } from "../../node/worker/context.ts";
import { JobWorker } from "../../node/worker/runtime.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

const tag = randomBytes(3).toString("hex");
const flaky = defineAgent({
  slug: `ff-flaky-${tag}`,
  input: z.object({}),
  retry: { limit: 3, backoff: { type: "fixed", delayMs: 0 } },
  handler: async (ctx: JobContext) => {
    throw new Error(`upstream down (attempt ${ctx.attempt})`);
  },
});

let fresh: FreshDatabase;
let worker: JobWorker;

beforeAll(async () => {
  fresh = await freshPgDatabase("failfast", { poolSize: 8 });
  worker = new JobWorker({ db: fresh.db, connectionString: fresh.url, agents: [flaky], concurrency: 1, heartbeatIntervalMs: 300, listenNotify: false, supervise: false });
  await worker.start();
}, 120_000);
afterAll(async () => {
  await worker?.stop();
  await fresh?.drop();
});

async function dead(id: string) {
  const until = Date.now() + 60_000;
  for (;;) {
    const j = await plans.getJob(fresh.db, id);
    if (j?.status === "dead") return j;
    if (Date.now() > until) throw new Error(`job ${id} did not die: ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function failures(id: string) {
  const { rows } = await fresh.db.query<{ payload: { attempt: number; will_retry: boolean; reason?: string } }>(
    `select payload from public.actp_events where job_id = $1 and type = 'job.failed' order by seq`,
    [id],
  );
  return rows.map((r) => [r.payload.attempt, r.payload.will_retry, r.payload.reason]);
}

describe("fail fast in incident mode", () => {
  it("in incident mode: two attempts, then the DLQ with reason incident_fail_fast", async () => {
    await fresh.db.query(`update public.actp_platform_state set mode = 'incident'`);
    try {
      const id = await submitJob(fresh.db, flaky.slug, {});
      expect((await dead(id)).attempts).toBe(2);
      expect(await failures(id)).toEqual([
        [1, true, "backoff"],
        [2, false, "incident_fail_fast"],
      ]);
    } finally {
      await fresh.db.query(`update public.actp_platform_state set mode = 'normal'`);
    }
  }, 90_000);

  it("in normal mode: every retry the agent allows", async () => {
    const id = await submitJob(fresh.db, flaky.slug, {});
    expect((await dead(id)).attempts).toBe(4);
    expect((await failures(id)).map((f) => f[1])).toEqual([true, true, true, false]);
  }, 90_000);
});
