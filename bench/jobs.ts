// `npm run bench -- jobs [n]`: end-to-end jobs/s (first submit → last completion) of actp (three
// durable steps per job) beside its peers on the same throwaway database on DATABASE_URL
// (PostgreSQL 15), interleaved over ACTP_BENCH_ROUNDS rounds (default 2) at concurrency 8:
//   raw pg-boss send/work (the queue actp is built on, no steps),
//   DBOS Transact 5 (the same three steps as a workflow, through a queue and started directly),
//   Graphile Worker (a plain job, addJob one at a time and addJobs in batches of 100).
// Prints jobs/s, actp's ratio to each, server transactions per job of each (pg_stat_database
// xact_commit + xact_rollback deltas, read with every session of the run closed), submit-to-start
// latency, and where actp's time goes (calls and time of its per-job SQL functions, track_functions).
//
// The throwaway database is dropped on success, on failure, on Ctrl-C and when the whole run exceeds
// ACTP_BENCH_TIMEOUT_MS (default 15 minutes).
import { loadavg } from "node:os";
import pg from "pg";
import type { PgBoss } from "pg-boss";
import { createThrowawayDatabase, type ThrowawayDatabase } from "../node/db/throwaway.ts";
import { createBoss, installQueueEngine } from "../node/worker/boss.ts";
import { WORK_DEFAULTS, workLoops } from "../node/worker/runtime.ts";
import { WorkerSupervisor } from "../node/worker/supervisor.ts";
import { createPgDatabase } from "../shared/db/pg.ts";
import type { Database } from "../shared/db/types.ts";
import { submitJob } from "../shared/jobs/submit.ts";
import { fmt } from "./_support.ts";
import { dbosRun, graphileRun, installGraphile, stopDbos, type PeerRun } from "./_peers.ts";

const N = Number(process.argv[2] ?? process.env.ACTP_BENCH_JOBS ?? 2000);
const SUBMITTERS = 16;
const PACED_JOBS = 200;
const PACED_PER_SEC = 50;
const CONCURRENCY = 8;
// Trivial jobs: fetching several per round trip pays (WorkerOptions.batchSize; the worker's default is 1).
const BATCH = Number(process.env.ACTP_BENCH_BATCH ?? 4);
const TIMEOUT_MS = Number(process.env.ACTP_BENCH_TIMEOUT_MS ?? 900_000);
const ROUNDS = Math.max(1, Number(process.env.ACTP_BENCH_ROUNDS ?? 2));
// A run that stops making progress for this long has a bug; say so instead of waiting forever.
const STALL_MS = 30_000;

const ACTP_FUNCTIONS = [
  "actp_jobs_enqueue",
  "actp_jobs_start",
  "actp_jobs_step_record",
  "actp_jobs_step_begin",
  "actp_jobs_step_finish",
  "actp_jobs_complete",
  "actp_emit",
  "actp_workers_heartbeat",
] as const;

interface ServerStats {
  xacts: number;
  fns: Map<string, { calls: number; totalMs: number; selfMs: number }>;
}

/** The worker supervisor of the run in progress, for bail() to kill. */
let running: WorkerSupervisor | null = null;

async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Polls count() until it reaches target; throws when it stops moving for STALL_MS. */
async function waitForCount(what: string, target: number, count: () => Promise<number>): Promise<void> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const n = await count();
    if (n >= target) return;
    if (n !== last) {
      last = n;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > STALL_MS) {
      throw new Error(`${what}: stuck at ${n} of ${target} for ${STALL_MS / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Server-side counters of the benchmark database, read from a session of its own. */
async function serverStats(url: string): Promise<ServerStats> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // Backends report their counters when they end or go idle; give the ones that just closed a moment.
    await new Promise((r) => setTimeout(r, 700));
    await c.query(`select pg_stat_clear_snapshot()`);
    const x = await c.query<{ n: string }>(`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`);
    const f = await c.query<{ funcname: string; calls: string; total_time: number; self_time: number }>(
      `select funcname, calls, total_time, self_time from pg_stat_user_functions where schemaname = 'public' and funcname = any($1)`,
      [ACTP_FUNCTIONS],
    );
    return {
      xacts: Number(x.rows[0]!.n),
      fns: new Map(f.rows.map((r) => [r.funcname, { calls: Number(r.calls), totalMs: r.total_time, selfMs: r.self_time }])),
    };
  } finally {
    await c.end();
  }
}

function delta(a: ServerStats, b: ServerStats) {
  const fns = ACTP_FUNCTIONS.map((name) => {
    const x = a.fns.get(name) ?? { calls: 0, totalMs: 0, selfMs: 0 };
    const y = b.fns.get(name) ?? { calls: 0, totalMs: 0, selfMs: 0 };
    return { name, calls: y.calls - x.calls, totalMs: y.totalMs - x.totalMs, selfMs: y.selfMs - x.selfMs };
  });
  return { xacts: b.xacts - a.xacts, fns };
}

const loads = () => loadavg().map((l) => l.toFixed(2)).join(" ");

/** pg-boss alone: send from SUBMITTERS concurrent callers, work with the fetch settings actp's workers use. */
async function rawPgBoss(url: string): Promise<{ rate: number; xactsPerJob: number }> {
  const before = await serverStats(url);
  const boss: PgBoss = createBoss(url, { supervise: false, listenNotify: true, max: CONCURRENCY + SUBMITTERS + 4 });
  await boss.start();
  let rate: number;
  try {
    await boss.createQueue("bench.raw", { notify: true });
    let done = 0;
    // The same fetch loops as actp's worker, with a handler that only completes: what pg-boss costs alone.
    const loops = { concurrency: CONCURRENCY, batchSize: BATCH, pollingIntervalSeconds: WORK_DEFAULTS.pollingIntervalSeconds };
    await workLoops(boss, "bench.raw", loops, async (job) => {
      done++;
      return { id: job.id, status: "completed" };
    });
    const t0 = performance.now();
    await inParallel(N, SUBMITTERS, (i) => boss.send("bench.raw", { n: i }));
    await waitForCount("raw pg-boss", N, async () => done);
    rate = N / ((performance.now() - t0) / 1000);
  } finally {
    await boss.stop({ graceful: true, close: true, timeout: 5000 });
  }
  return { rate, xactsPerJob: delta(before, await serverStats(url)).xacts / N };
}

/** Submit-to-start percentiles of the given jobs, from actp's own record. */
async function latency(db: Database, ids: string[]): Promise<{ p50: number; p99: number }> {
  const { rows } = await db.query<{ p50: number; p99: number }>(
    `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99
       from (select extract(epoch from (started_at - created_at)) * 1000 as ms from public.actp_jobs where id = any($1::uuid[])) x`,
    [ids],
  );
  return rows[0]!;
}

async function actp(url: string, module: string, processes: number, paced: boolean) {
  // Server counters are read with every session of the run closed (a backend reports its counters
  // when it ends), so they cover the whole run: worker start-up, warm-up and the measured jobs.
  const before = await serverStats(url);
  const sup = new WorkerSupervisor({ module, connectionString: url, processes, concurrency: CONCURRENCY, batchSize: BATCH, pingIntervalMs: 1000 });
  running = sup;
  sup.start();
  const db = createPgDatabase({ connectionString: url, max: SUBMITTERS, applicationName: "actp-bench-submit" });
  let polls = 0;
  const completed = async (ids: string[]) => {
    polls++;
    const { rows } = await db.query<{ n: string }>(`select count(*) as n from public.actp_jobs where id = any($1::uuid[]) and status = 'completed'`, [ids]);
    return Number(rows[0]!.n);
  };
  const submitAll = async (n: number) => {
    const ids: string[] = [];
    await inParallel(n, SUBMITTERS, async (i) => ids.push(await submitJob(db, "bench", { n: i }, { source: "bench" })));
    return ids;
  };
  try {
    await sup.ready();
    // Warm-up: connections, plans and plpgsql caches of every session. Not timed.
    const warm = await submitAll(SUBMITTERS * processes);
    await waitForCount("warm-up", warm.length, () => completed(warm));
    const t0 = performance.now();
    const ids = await submitAll(N);
    const submitSecs = (performance.now() - t0) / 1000;
    await waitForCount(`actp with ${processes} process(es)`, N, () => completed(ids));
    const secs = (performance.now() - t0) / 1000;
    const { rows } = await db.query<{ steps: string }>(
      `select count(*) as steps from public.actp_job_steps s where s.job_id = any($1::uuid[]) and s.status = 'completed'`,
      [ids],
    );
    const sat = await latency(db, ids);
    if (Number(rows[0]!.steps) !== 3 * N) throw new Error(`expected ${3 * N} completed steps, found ${rows[0]!.steps}`);
    // The figures above are taken at saturation (the submitters outrun the workers, so a job waits
    // in the backlog). Latency proper: one submitter at PACED_PER_SEC, well below capacity.
    const pacedIds: string[] = [];
    for (let i = 0; paced && i < PACED_JOBS; i++) {
      const t = performance.now();
      pacedIds.push(await submitJob(db, "bench", { n: i }, { source: "bench" }));
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 / PACED_PER_SEC - (performance.now() - t))));
    }
    await waitForCount("paced jobs", pacedIds.length, () => completed(pacedIds));
    const lat = paced ? await latency(db, pacedIds) : null;
    await db.end();
    await sup.stop();
    const d = delta(before, await serverStats(url));
    // Minus the bench's own statements (its polls, the queries above and the paced pauses' none);
    // submitJob's are the SDK's and stay in. The paced jobs are counted as jobs.
    const extra = pacedIds.length;
    return { rate: N / secs, submitRate: N / submitSecs, sat, lat, jobs: N + warm.length + extra, xacts: d.xacts - polls - 3 - (paced ? 1 : 0), fns: d.fns };
  } finally {
    await db.end().catch(() => {});
    await sup.stop();
  }
}

async function peer(url: string, run: () => Promise<PeerRun>): Promise<{ rate: number; xactsPerJob: number }> {
  const before = await serverStats(url);
  const r = await run();
  const d = delta(before, await serverStats(url));
  return { rate: r.rate, xactsPerJob: (d.xacts - r.harnessXacts) / N };
}

type Figures = { rate: number[]; xacts: number[] };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(t: ThrowawayDatabase, serverUrl: string): Promise<void> {
  {
    // Per-function call counts and times for the "where the time goes" lines; sessions opened from
    // now on pick the setting up. The name is createThrowawayDatabase's own (label and hex only).
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    await c.query(`alter database ${t.name} set track_functions = 'all'`).finally(() => c.end());
  }
  await installQueueEngine(t.url);
  await installGraphile(t.url);
  // DBOS installs its system tables on first launch: once here, untimed.
  await dbosRun(t.url, 16, CONCURRENCY, "direct");
  const module = new URL("../examples/test-agents.ts", import.meta.url).pathname;
  console.log(
    `jobs benchmark on a throwaway PostgreSQL database: ${N} jobs per run, concurrency ${CONCURRENCY}, ${ROUNDS} interleaved round(s); ` +
      `actp: 1 worker process, fetch batch ${BATCH} (ACTP_BENCH_BATCH), ${SUBMITTERS} concurrent submitters`,
  );
  console.log(`  load average before: ${loads()}`);

  const systems: { key: string; label: string; run: (round: number) => Promise<{ rate: number; xactsPerJob: number }> }[] = [
    { key: "pgboss", label: "raw pg-boss send/work (no steps)", run: () => rawPgBoss(t.url) },
    { key: "dbos-queue", label: "DBOS Transact, 3 steps, through a queue", run: () => peer(t.url, () => dbosRun(t.url, N, CONCURRENCY, "queue")) },
    { key: "dbos-direct", label: "DBOS Transact, 3 steps, started directly", run: () => peer(t.url, () => dbosRun(t.url, N, CONCURRENCY, "direct")) },
    { key: "graphile-add", label: "Graphile Worker, addJob (no steps)", run: () => peer(t.url, () => graphileRun(t.url, N, CONCURRENCY, "addJob")) },
    { key: "graphile-batch", label: "Graphile Worker, addJobs x100 (no steps)", run: () => peer(t.url, () => graphileRun(t.url, N, CONCURRENCY, "addJobs")) },
    {
      key: "actp",
      label: "actp, 3 durable steps",
      run: async (round) => {
        const r = await actp(t.url, module, 1, round === 0);
        actpRuns.push(r);
        return { rate: r.rate, xactsPerJob: r.xacts / r.jobs };
      },
    },
  ];
  const actpRuns: Awaited<ReturnType<typeof actp>>[] = [];
  const figures = new Map<string, Figures>(systems.map((s) => [s.key, { rate: [], xacts: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts one system later, so no system always runs first (cold) or last.
    const order = systems.map((_, i) => systems[(i + round) % systems.length]!);
    for (const sys of order) {
      const r = await sys.run(round);
      figures.get(sys.key)!.rate.push(r.rate);
      figures.get(sys.key)!.xacts.push(r.xactsPerJob);
      console.log(`  round ${round + 1}: ${sys.label.padEnd(44)} ${fmt(r.rate).padStart(6)} jobs/s, ${fmt(r.xactsPerJob, 1)} server transactions/job  [load ${loads()}]`);
    }
  }

  const actpRate = mean(figures.get("actp")!.rate);
  console.log(`\n  mean of ${ROUNDS} round(s)                                   jobs/s   xacts/job   actp / it`);
  for (const sys of systems) {
    const f = figures.get(sys.key)!;
    const rate = mean(f.rate);
    console.log(
      `  ${sys.label.padEnd(52)} ${fmt(rate).padStart(6)}   ${fmt(mean(f.xacts), 1).padStart(9)}   ${sys.key === "actp" ? "" : fmt(actpRate / rate, 2).padStart(8) + "x"}`,
    );
  }
  console.log(
    `  aims: actp >= 1.5x DBOS (queue ${fmt(actpRate / mean(figures.get("dbos-queue")!.rate), 2)}x, direct ${fmt(actpRate / mean(figures.get("dbos-direct")!.rate), 2)}x); ` +
      `within 2x of raw pg-boss (pg-boss is ${fmt(mean(figures.get("pgboss")!.rate) / actpRate, 2)}x actp)`,
  );

  const first = actpRuns[0]!;
  if (first.lat) {
    console.log(
      `\n  actp submit-to-start: at ${PACED_PER_SEC} jobs/s p50 ${fmt(first.lat.p50, 1)} ms, p99 ${fmt(first.lat.p99, 1)} ms;` +
        ` at saturation (backlog included) p50 ${fmt(first.sat.p50)} ms, p99 ${fmt(first.sat.p99)} ms; submitting alone ${fmt(first.submitRate)} jobs/s`,
    );
  }
  console.log(`  where actp's time goes (per job, all rounds; server transactions include worker start-up and heartbeats):`);
  const jobs = actpRuns.reduce((a, r) => a + r.jobs, 0);
  for (const name of ACTP_FUNCTIONS) {
    const calls = actpRuns.reduce((a, r) => a + (r.fns.find((f) => f.name === name)?.calls ?? 0), 0);
    const totalMs = actpRuns.reduce((a, r) => a + (r.fns.find((f) => f.name === name)?.totalMs ?? 0), 0);
    if (calls === 0) continue;
    console.log(
      `      ${name.padEnd(24)} ${fmt(calls / jobs, 2).padStart(6)} calls/job  ${fmt(totalMs / calls, 3).padStart(7)} ms/call` +
        `  ${fmt(totalMs / jobs, 3).padStart(7)} ms/job in the database` +
        (name === "actp_emit" ? "  (inside the functions above: part of their time)" : ""),
    );
  }
}

if (!process.env.DATABASE_URL) {
  console.error("bench jobs: set DATABASE_URL to a PostgreSQL server (a throwaway database is created on it)");
  process.exit(2);
}
const t = await createThrowawayDatabase(process.env.DATABASE_URL, "bench_jobs");
let dropped = false;
const drop = async () => {
  if (dropped) return;
  dropped = true;
  await t.drop().catch((err) => console.error(`bench jobs: could not drop ${t.name}: ${(err as Error).message}`));
};
const bail = (why: string) => {
  console.error(`bench jobs: ${why}; dropping ${t.name}`);
  // No drain: the figures are lost anyway, and the drop below ends every session of the database.
  const children = running?.children() ?? [];
  void running?.stop(); // marks it stopping at once, so the kills below are not replaced
  void stopDbos().catch(() => {});
  for (const c of children) process.kill(c.pid, "SIGKILL");
  void drop().finally(() => process.exit(1));
};
const watchdog = setTimeout(() => bail(`no result after ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
watchdog.unref();
process.once("SIGINT", () => bail("interrupted"));
process.once("SIGTERM", () => bail("terminated"));
let failed = false;
try {
  await main(t, process.env.DATABASE_URL);
} catch (err) {
  failed = true;
  // After bail() dropped the database, the run in flight fails on it; that is not news.
  if (!dropped) console.error("bench jobs failed:", err);
} finally {
  clearTimeout(watchdog);
  await drop();
}
process.exit(failed ? 1 : 0);
