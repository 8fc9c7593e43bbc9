// §4.13, the process side, on PostgreSQL 15: WorkerSupervisor recycles a child whose RSS passes
// the threshold (it stops taking jobs, finishes the one it holds, exits as `recycled`, and a
// replacement takes new jobs), and kills and replaces a child whose event loop stops answering,
// after which the job it held completes on the replacement. Thresholds are injected small so
// each case takes seconds.
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { installQueueEngine } from "../../node/worker/boss.ts";
import { WorkerSupervisor, type SupervisorEvent, type SupervisorOptions } from "../../node/worker/supervisor.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { submitJob } from "../../shared/jobs/submit.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

const MODULE = new URL("./fixtures/supervisor-agents.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;

let fresh: FreshDatabase;
let sup: WorkerSupervisor | null = null;
let events: SupervisorEvent[] = [];

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function supervise(o: Partial<SupervisorOptions>): Promise<WorkerSupervisor> {
  events = [];
  sup = new WorkerSupervisor({ module: MODULE, connectionString: fresh.url, processes: 1, concurrency: 2, pingIntervalMs: 200, ...o });
  sup.on((e) => events.push(e));
  sup.start();
  await sup.ready();
  return sup;
}

const registration = async (workerId: string) =>
  (await fresh.db.query<{ status: string; pid: number }>(`select status, pid from public.actp_worker_registrations where worker_id = $1`, [workerId])).rows[0];

beforeAll(async () => {
  fresh = await freshPgDatabase("worker_supervisor");
  await installQueueEngine(fresh.url);
}, 120_000);

afterEach(async () => {
  await sup?.stop();
  sup = null;
});

afterAll(async () => {
  await fresh?.drop();
});

it("drains a child whose RSS passes the threshold: it finishes its job, exits recycled, and a replacement takes new jobs", async () => {
  const threshold = 300 * MiB;
  const s = await supervise({ maxRssBytes: threshold });
  const [first] = s.children();
  // The threshold must sit above a fresh worker's own footprint, or every child would be recycled.
  const baseline = await waitFor("first RSS report", () => s.children()[0]?.rss || null);
  expect(baseline).toBeLessThan(threshold);

  const hogId = await submitJob(fresh.db, "sup-hog", { mb: 320, hold_ms: 3000 });
  await waitFor("recycle decision", () => events.some((e) => e.type === "recycling" && e.workerId === first!.workerId));
  // Stopped fetching before it said so; the job it holds is still running.
  await waitFor("draining registration", async () => (await registration(first!.workerId))?.status === "draining");
  expect((await plans.getJob(fresh.db, hogId))?.status).toBe("running");

  const replacement = await waitFor("replacement ready", () => s.children().find((c) => c.workerId !== first!.workerId && c.ready));
  const echoId = await submitJob(fresh.db, "sup-echo", {});

  const exited = await waitFor("recycled child exit", () => events.find((e) => e.type === "exited" && e.workerId === first!.workerId));
  expect(exited).toMatchObject({ code: 0, signal: null });
  const hog = await plans.getJob(fresh.db, hogId);
  expect(hog).toMatchObject({ status: "completed", worker_id: first!.workerId, attempts: 1 });
  expect(hog!.steps.map((st) => [st.name, st.status])).toEqual([["allocate", "completed"], ["hold", "completed"]]);
  expect((hog!.output as { rss: number }).rss).toBeGreaterThan(threshold);
  expect(await registration(first!.workerId)).toMatchObject({ status: "recycled", pid: first!.pid });

  const echo = await waitFor("echo job on the replacement", async () => {
    const j = await plans.getJob(fresh.db, echoId);
    return j?.status === "completed" ? j : null;
  });
  expect(echo).toMatchObject({ worker_id: replacement.workerId, attempts: 1, output: { pid: replacement.pid } });
  expect(s.children().map((c) => c.workerId)).toEqual([replacement.workerId]);
  // One recycle, no kill: the replacement is small again.
  expect(events.filter((e) => e.type === "recycling" || e.type === "unresponsive")).toHaveLength(1);
}, 60_000);

it("kills and replaces a child whose event loop stops answering; the job it held completes on the replacement", async () => {
  const s = await supervise({ pingTimeoutMs: 1500 });
  const [first] = s.children();
  const id = await submitJob(fresh.db, "sup-spinner", { spin_ms: 60_000 });

  const unresponsive = await waitFor("hang detected", () => events.find((e) => e.type === "unresponsive"));
  expect(unresponsive.workerId).toBe(first!.workerId);
  const exited = await waitFor("hung child killed", () => events.find((e) => e.type === "exited" && e.workerId === first!.workerId));
  expect(exited).toMatchObject({ signal: "SIGKILL" });
  const replacement = await waitFor("replacement ready", () => s.children().find((c) => c.workerId !== first!.workerId && c.ready));

  // The killed child's heartbeats stopped: the database supervisor (pg_cron's every-minute tick, run
  // here with a short threshold) marks it dead and hands its job back to pg-boss for a retry.
  await waitFor("tick releases the job", async () => (await plans.supervisorTick(fresh.db, 2)).dead_workers.includes(first!.workerId));
  const done = await waitFor("job completed on the replacement", async () => {
    const j = await plans.getJob(fresh.db, id);
    return j?.status === "completed" ? j : null;
  });
  expect(done).toMatchObject({ worker_id: replacement.workerId, attempts: 2 });
  // "before" completed on the hung child and was not run again; "spin" ran to completion on attempt 2.
  expect(done.output).toEqual({ before: { pid: first!.pid, attempt: 1 }, spun: { pid: replacement.pid, attempt: 2 } });
  expect(await registration(first!.workerId)).toMatchObject({ status: "dead" });
  const types = (await fresh.db.query<{ type: string }>(`select type from public.actp_events where job_id = $1 order by seq`, [id])).rows.map((r) => r.type);
  expect(types).toEqual(expect.arrayContaining(["agent.stalled", "job.retrying", "job.completed"]));
}, 60_000);
