// `npm run bench -- jobs [n]`: end-to-end jobs/s (submit → completed, three durable steps each) with
// one and with four worker processes, against a throwaway database on DATABASE_URL (PostgreSQL 15);
// the same run measures raw pg-boss send/work and prints actp's cost per job as a ratio of it, and
// the submit-to-start latency p50/p99.
import { createBoss, installQueueEngine } from "../node/worker/boss.ts";
import { WorkerSupervisor } from "../node/worker/supervisor.ts";
import type { Database } from "../shared/db/types.ts";
import { submitJob } from "../shared/jobs/submit.ts";
import { freshPgDatabase } from "../tests/support/pg.ts";
import { fmt } from "./_support.ts";

const N = Number(process.argv[2] ?? 2000);
const SUBMITTERS = 16;
const CONCURRENCY = 8;

async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

async function waitUntil(fn: () => Promise<boolean>): Promise<void> {
  while (!(await fn())) await new Promise((r) => setTimeout(r, 20));
}

async function rawPgBoss(url: string): Promise<number> {
  const boss = createBoss(url, { supervise: false, listenNotify: true, max: CONCURRENCY + 8 });
  await boss.start();
  await boss.createQueue("bench.raw", { notify: true });
  let done = 0;
  await boss.work("bench.raw", { localConcurrency: CONCURRENCY, pollingIntervalSeconds: 0.5 }, async () => {
    done++;
  });
  const t0 = performance.now();
  await inParallel(N, SUBMITTERS, (i) => boss.send("bench.raw", { n: i }));
  await waitUntil(async () => done >= N);
  const secs = (performance.now() - t0) / 1000;
  // pg-boss's stop can wait on its listener connection; the figure is taken, so do not wait long.
  await Promise.race([boss.stop({ graceful: false, close: true }), new Promise((r) => setTimeout(r, 3000))]);
  return N / secs;
}

async function actp(db: Database, url: string, module: string, processes: number): Promise<{ rate: number; p50: number; p99: number }> {
  const sup = new WorkerSupervisor({ module, connectionString: url, processes, concurrency: CONCURRENCY, pingIntervalMs: 1000 });
  sup.start();
  await sup.ready();
  await db.query(`truncate public.actp_job_steps`);
  const before = Number((await db.query<{ n: string }>(`select count(*) as n from public.actp_jobs where status = 'completed'`)).rows[0]!.n);
  const since = new Date().toISOString();
  const t0 = performance.now();
  await inParallel(N, SUBMITTERS, (i) => submitJob(db, "bench", { n: i }, { source: "bench" }));
  await waitUntil(async () => {
    const { rows } = await db.query<{ n: string }>(`select count(*) as n from public.actp_jobs where status = 'completed'`);
    return Number(rows[0]!.n) - before >= N;
  });
  const secs = (performance.now() - t0) / 1000;
  const { rows } = await db.query<{ p50: number; p99: number }>(
    `select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.99) within group (order by ms) as p99
       from (select extract(epoch from (started_at - created_at)) * 1000 as ms from public.actp_jobs
              where created_at >= $1 and started_at is not null) x`,
    [since],
  );
  await sup.stop();
  return { rate: N / secs, p50: rows[0]!.p50, p99: rows[0]!.p99 };
}

if (!process.env.DATABASE_URL) {
  console.error("bench jobs: set DATABASE_URL to a PostgreSQL server (a throwaway database is created on it)");
  process.exit(2);
}
const fresh = await freshPgDatabase("bench_jobs", { poolSize: SUBMITTERS + 4 });
try {
  await installQueueEngine(fresh.url);
  const module = new URL("../examples/test-agents.ts", import.meta.url).pathname;
  console.log(`jobs benchmark: ${N} jobs per run, ${SUBMITTERS} concurrent submitters, concurrency ${CONCURRENCY} per process`);
  const raw = await rawPgBoss(fresh.url);
  console.log(`  raw pg-boss send/work (1 process):        ${fmt(raw)} jobs/s`);
  for (const processes of [1, 4]) {
    const r = await actp(fresh.db, fresh.url, module, processes);
    console.log(
      `  actp, 3 durable steps, ${processes} worker process${processes > 1 ? "es" : ""}: ${fmt(r.rate)} jobs/s` +
        `  (cost per job ${fmt(raw / r.rate, 1)}x raw pg-boss)  submit-to-start p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms`,
    );
  }
} finally {
  await fresh.drop();
}
