// Recovery in seconds, and told (issue 9), on PostgreSQL 15: two real worker processes with the
// default 5 s heartbeat; kill -9 the one running a job whose two steps run at once (Promise.all).
// Nobody calls the supervisor by hand: the surviving worker's heartbeat runs the tick, finds the dead
// worker after 3 missed beats and requeues its job, which completes on the survivor in under 20 s.
// The timeline says why it ran again, between the two attempts.
import { afterAll, beforeAll, expect, it } from "vitest";
import { installQueueEngine } from "../../node/worker/boss.ts";
import { WorkerSupervisor } from "../../node/worker/supervisor.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

let fresh: FreshDatabase;
let sup: WorkerSupervisor;

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  fresh = await freshPgDatabase("worker_recovery");
  await installQueueEngine(fresh.url);
  await fresh.db.query(`create table public.example_step_runs (job_id uuid, step text, worker_pid int, at timestamptz default now())`);
  sup = new WorkerSupervisor({
    module: new URL("../../examples/test-agents.ts", import.meta.url).pathname,
    connectionString: fresh.url,
    processes: 2,
    concurrency: 1,
    pingIntervalMs: 500,
  });
  sup.start();
  await sup.ready();
}, 120_000);

afterAll(async () => {
  await sup?.stop();
  await fresh?.drop();
});

it("runs a killed worker's job again on the other worker in under 20 s, parallel steps and all, and says why", async () => {
  const db = fresh.db;
  const { rows: hb } = await db.query<{ ms: number }>(`select distinct heartbeat_interval_ms as ms from public.actp_worker_registrations where status = 'alive'`);
  expect(hb).toEqual([{ ms: 5000 }]);

  const id = await submitJob(db, "forked", { slow_ms: 60_000 });
  const job = await waitFor("slow step running beside a completed fast one", async () => {
    const j = await plans.getJob(db, id);
    const st = Object.fromEntries((j?.steps ?? []).map((s) => [s.name, s.status]));
    return st.fast === "completed" && st.slow === "running" ? j : null;
  });
  const victim = sup.children().find((c) => c.workerId === job.worker_id)!;
  expect(victim).toBeDefined();
  const killedAt = Date.now();
  process.kill(victim.pid, "SIGKILL");

  const done = await waitFor("job completed on the other worker", async () => {
    const j = await plans.getJob(db, id);
    return j?.status === "completed" ? j : null;
  }, 40_000);
  const elapsed = Date.now() - killedAt;
  console.log(`kill -9 to completion on the other worker: ${(elapsed / 1000).toFixed(1)} s`);
  expect(elapsed).toBeLessThan(20_000);
  expect(done.worker_id).not.toBe(victim.workerId);
  expect(done.attempts).toBe(2);
  expect(done.output).toMatchObject({ fast: "f", slow: "s" });

  // Each parallel step kept its own checkpoint: "fast" completed before the crash and never ran again.
  const { rows } = await db.query<{ step: string; n: number }>(
    `select step, count(*)::int as n from public.example_step_runs where job_id = $1 group by step order by step`,
    [id],
  );
  expect(Object.fromEntries(rows.map((r) => [r.step, r.n]))).toEqual({ fast: 1, slow: 2, join: 1 });

  // Between the attempts: the worker's stale heartbeat, the job's stall naming it, the retry and why.
  const { rows: events } = await db.query<{ type: string; job_id: string | null; payload: Record<string, unknown> }>(
    `select type, job_id, payload from public.actp_events
      where job_id = $1 or (type = 'heartbeat.stale' and payload ->> 'worker_id' = $2) order by seq`,
    [id, victim.workerId],
  );
  const types = events.map((e) => e.type);
  const dispatched = types.flatMap((t, i) => (t === "job.dispatched" ? [i] : []));
  expect(dispatched).toHaveLength(2);
  const between = events.slice(dispatched[0]! + 1, dispatched[1]!);
  const order = between.map((e) => e.type).filter((t) => ["heartbeat.stale", "agent.stalled", "job.retrying"].includes(t));
  expect(order).toEqual(["heartbeat.stale", "agent.stalled", "job.retrying"]);
  expect(between.find((e) => e.type === "agent.stalled")!.payload).toMatchObject({ worker_id: victim.workerId, action: "requeued" });
  const retrying = between.find((e) => e.type === "job.retrying")!.payload;
  expect(retrying).toMatchObject({ attempt: 2, error: { code: "worker.dead" } });
  expect(String(retrying.reason)).toContain(victim.workerId);
});
