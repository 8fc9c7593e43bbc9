// §4.13 on PostgreSQL 15: kill -9 a worker process in the middle of a job; the supervisor tick marks
// it dead and requeues the job through pg-boss, another worker process finishes it, and the steps
// that had completed before the crash do not run again. The process supervisor replaces the child.
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
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  fresh = await freshPgDatabase("worker_crash");
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

it("finishes a job on another worker after kill -9, running each completed step once", async () => {
  const db = fresh.db;
  const id = await submitJob(db, "crashy", { slow_ms: 4000 });
  // Kill the worker while the slow step runs (the first step has completed).
  const job = await waitFor("slow step running", async () => {
    const j = await plans.getJob(db, id);
    return j?.steps.some((s) => s.name === "slow" && s.status === "running") ? j : null;
  });
  const victim = sup.children().find((c) => c.workerId === job.worker_id);
  expect(victim).toBeDefined();
  const exited = new Promise<void>((resolve) => sup.on((e) => e.type === "exited" && e.workerId === victim!.workerId && resolve()));
  process.kill(victim!.pid, "SIGKILL");
  await exited;

  // The heartbeat stops; the supervisor tick (pg_cron's every-minute job, run here directly with a
  // short threshold) marks the worker dead and requeues its job.
  await waitFor("supervisor to release the job", async () => {
    const r = await plans.supervisorTick(db, 2);
    return r.dead_workers.includes(victim!.workerId) ? r : null;
  });
  const done = await waitFor("job completed elsewhere", async () => {
    const j = await plans.getJob(db, id);
    return j?.status === "completed" ? j : null;
  });
  expect(done.worker_id).not.toBe(victim!.workerId);
  expect(done.attempts).toBe(2);

  const { rows } = await db.query<{ step: string; n: number; pids: number[] }>(
    `select step, count(*)::int as n, array_agg(distinct worker_pid) as pids from public.example_step_runs where job_id = $1 group by step order by step`,
    [id],
  );
  const runs = Object.fromEntries(rows.map((r) => [r.step, r.n]));
  // "first" completed before the crash: never again. "slow" was interrupted, so it ran twice.
  expect(runs).toEqual({ first: 1, slow: 2, last: 1 });
  const w = await db.query(`select status from public.actp_worker_registrations where worker_id = $1`, [victim!.workerId]);
  expect(w.rows[0]).toEqual({ status: "dead" });
  const events = await db.query<{ type: string }>(`select type from public.actp_events where job_id = $1 order by seq`, [id]);
  expect(events.rows.map((e) => e.type)).toEqual(expect.arrayContaining(["agent.stalled", "job.retrying", "job.completed"]));
  // The process supervisor replaced the killed child.
  await waitFor("replacement", async () => sup.children().filter((c) => c.ready).length === 2);
});
