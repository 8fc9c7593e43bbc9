// A job held past its pg-boss expiration by a worker that is still alive is released and requeued
// by the supervisor tick, with job.timed_out in its timeline.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { defineAgent, syncAgents } from "../../node/worker/agents/index.ts";
import { createBoss } from "../../node/worker/boss.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { queueName } from "../../shared/jobs/queue.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase(4);
afterAll(() => db.end());

describe("supervisor and timeouts", () => {
  it("releases a job held past its timeout and emits job.timed_out", async () => {
    const tag = randomBytes(3).toString("hex");
    const agent = defineAgent({ slug: `slowpoke-${tag}`, input: z.object({}), handler: () => null });
    await syncAgents(db, [agent]);
    const boss = createBoss(inject("dbUrl"), { supervise: false, listenNotify: false, max: 2 });
    await boss.start();
    try {
      const id = await submitJob(db, agent.slug, {}, { expire_in_seconds: 30 });
      const [claimed] = await boss.fetch(queueName(agent.slug));
      expect(claimed?.id).toBe(id);
      const worker = `alive-${tag}`;
      await plans.registerWorker(db, { workerId: worker, host: "here", pid: 1, agents: [agent.slug], rssBytes: 1 });
      expect(await plans.startJob(db, { jobId: id, workerId: worker, attempt: 1, queue: queueName(agent.slug), leaseSeconds: 30 })).not.toBeNull();
      // The worker keeps heartbeating, but the job was claimed long ago.
      await db.query(`update pgboss.job set started_on = now() - interval '1 hour' where id = $1`, [id]);

      const r = await plans.supervisorTick(db, 60);
      expect(r.dead_workers).not.toContain(worker);
      expect(r.timed_out).toBeGreaterThanOrEqual(1);
      const { rows } = await db.query<{ type: string }>(`select type from public.actp_events where job_id = $1 order by seq`, [id]);
      expect(rows.map((x) => x.type)).toContain("job.timed_out");
      const job = await db.query<{ status: string; state: string }>(
        `select j.status, b.state::text as state from public.actp_jobs j join pgboss.job b on b.id = j.id where j.id = $1`,
        [id],
      );
      expect(job.rows[0]).toEqual({ status: "retrying", state: "retry" });
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
});
