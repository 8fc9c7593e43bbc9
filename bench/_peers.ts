// The peers `npm run bench -- jobs` runs beside actp on the same database, each doing the same work:
// DBOS Transact (a workflow of three steps, started through a queue and started directly) and
// Graphile Worker (a plain job, added one at a time and in batches). Each run starts its system,
// times N jobs from first submit to last completion at concurrency 8, and stops it again so that
// every session it opened has reported its transactions before the counters are read.
import { DBOS } from "@dbos-inc/dbos-sdk";
import { Logger, makeWorkerUtils, run as runGraphile } from "graphile-worker";
import pg from "pg";

export interface PeerRun {
  /** Jobs completed per second, first submit to last completion. */
  rate: number;
  /** Statements the harness itself ran on the database (completion polls), to subtract. */
  harnessXacts: number;
}

async function inParallel(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

async function until(what: string, target: number, count: () => Promise<number> | number, stallMs = 30_000): Promise<void> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const n = await count();
    if (n >= target) return;
    if (n !== last) {
      last = n;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) throw new Error(`${what}: stuck at ${n} of ${target}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// --- DBOS Transact -------------------------------------------------------------------------------

export const DBOS_QUEUE_POLL_MS = 50;

let dbosWorkflow: ((n: number) => Promise<{ result: number }>) | null = null;
let dbosLaunched = false;

function registerDbos(): (n: number) => Promise<{ result: number }> {
  dbosWorkflow ??= DBOS.registerWorkflow(
    async (n: number) => {
      // The same three durable steps as actp's `bench` agent (examples/test-agents.ts).
      const a = await DBOS.runStep(async () => n + 1, { name: "one" });
      const b = await DBOS.runStep(async () => a * 2, { name: "two" });
      return DBOS.runStep(async () => ({ result: b + 1 }), { name: "three" });
    },
    { name: "actpBenchThreeSteps" },
  );
  return dbosWorkflow;
}

async function launchDbos(url: string): Promise<void> {
  registerDbos();
  if (dbosLaunched) return;
  DBOS.setConfig({ name: "actp-bench", systemDatabaseUrl: url, systemDatabasePoolSize: 24, logLevel: "error", runAdminServer: false });
  await DBOS.launch();
  dbosLaunched = true;
}

export async function stopDbos(): Promise<void> {
  if (!dbosLaunched) return;
  dbosLaunched = false;
  await DBOS.shutdown();
}

/** DBOS workflows of three steps, `direct`: started by 8 concurrent callers; else through a queue of concurrency 8. */
export async function dbosRun(url: string, n: number, concurrency: number, via: "queue" | "direct"): Promise<PeerRun> {
  await launchDbos(url);
  const wf = registerDbos();
  const queueName = `actp_bench_${via}_${Date.now().toString(36)}`;
  const poll = new pg.Client({ connectionString: url });
  let polls = 0;
  try {
    // DBOS's dispatch loop polls each queue (default every 1000 ms); 50 ms is its fast setting.
    if (via === "queue") await DBOS.registerQueue(queueName, { workerConcurrency: concurrency, minPollingIntervalMs: DBOS_QUEUE_POLL_MS });
    await poll.connect();
    const t0 = performance.now();
    if (via === "direct") {
      await inParallel(n, concurrency, async (i) => (await DBOS.startWorkflow(wf)(i)).getResult());
    } else {
      await inParallel(n, 16, (i) => DBOS.startWorkflow(wf, { queueName })(i));
      await until("DBOS queue", n, async () => {
        polls++;
        const { rows } = await poll.query<{ n: string }>(
          `select count(*) as n from dbos.workflow_status where queue_name = $1 and status = 'SUCCESS'`,
          [queueName],
        );
        return Number(rows[0]!.n);
      });
    }
    return { rate: n / ((performance.now() - t0) / 1000), harnessXacts: polls };
  } finally {
    await poll.end().catch(() => {});
    // Closing the pools makes every DBOS session report its transactions.
    await stopDbos();
  }
}

// --- Graphile Worker -----------------------------------------------------------------------------

const quiet = new Logger(() => () => {});

/** Graphile Worker: N jobs added one at a time by 16 callers (addJob) or in batches (addJobs), worked at concurrency 8. */
export async function graphileRun(url: string, n: number, concurrency: number, mode: "addJob" | "addJobs", batch = 100): Promise<PeerRun> {
  const pool = new pg.Pool({ connectionString: url, max: concurrency + 4 });
  // Graphile Worker wants error handlers on the pool and on each client it hands out.
  pool.on("error", (err) => console.error(`graphile pool: ${err.message}`));
  pool.on("connect", (client) => client.on("error", (err) => console.error(`graphile client: ${err.message}`)));
  let done = 0;
  const runner = await runGraphile({
    pgPool: pool,
    concurrency,
    noHandleSignals: true,
    pollInterval: 500,
    taskList: { actp_bench: async () => void done++ },
    logger: quiet,
  });
  const utils = await makeWorkerUtils({ pgPool: pool, logger: quiet });
  try {
    const t0 = performance.now();
    if (mode === "addJob") {
      await inParallel(n, 16, (i) => utils.addJob("actp_bench", { n: i }));
    } else {
      const batches = Math.ceil(n / batch);
      await inParallel(batches, 4, (b) =>
        utils.addJobs(Array.from({ length: Math.min(batch, n - b * batch) }, (_, k) => ({ identifier: "actp_bench", payload: { n: b * batch + k } }))),
      );
    }
    await until(`graphile ${mode}`, n, () => done);
    return { rate: n / ((performance.now() - t0) / 1000), harnessXacts: 0 };
  } finally {
    await utils.release();
    await runner.stop();
    await pool.end();
  }
}

/** Installs Graphile Worker's schema once, outside any timed run. */
export async function installGraphile(url: string): Promise<void> {
  const utils = await makeWorkerUtils({ connectionString: url, logger: quiet });
  try {
    await utils.migrate();
  } finally {
    await utils.release();
  }
}
