// The worker runtime: works each agent's pg-boss queue, keeps actp's record of every attempt
// (actp_jobs, actp_job_steps, lifecycle events), registers the worker and heartbeats it, and aborts
// handlers whose job was cancelled, timed out, or handed to another worker.
//
// pg-boss decides retries, backoff, expiry and dead-lettering. A failed attempt is told to pg-boss
// and recorded by actp in one transaction, so actp's record (job.retrying with its run_at, or
// job.failed and the DLQ) states what pg-boss decided; a RetryAfterError moves the retry to its time
// with pg-boss's update(startAfter); a failure no retry can fix is dead-lettered at once.
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { JobWithMetadata, PgBoss } from "pg-boss";
import type { Database } from "../../shared/db/types.ts";
import type { JobError } from "../../shared/jobs/contracts.ts";
import { ScratchpadRegistry } from "../../shared/execution-context/index.ts";
import * as plans from "../../shared/jobs/plans.ts";
import { queueName } from "../../shared/jobs/queue.ts";
import { syncAgents, type AnyAgentDefinition } from "./agents/index.ts";
import { createBoss, ensureAgentQueues, type QueueOverrides } from "./boss.ts";
import { createJobContext, lastRunningStep, stepOfError } from "./context.ts";
import { JobAbortedError, JobTimeoutError, toJobError } from "./errors.ts";
import { ensureServiceQueues, PLATFORM_SERVICES, runServiceJob, type ServiceQueue } from "./services.ts";
import { decideFailure, InvalidJobInputError, type FailureDecision } from "./failure.ts";
import { workEmbedQueue } from "../memory/embed-queue.ts";
import { EMBED_QUEUE } from "../../shared/memory/embed-work.ts";

export interface WorkerOptions {
  /** actp's statements go through this database. */
  db: Database;
  /** pg-boss connects here (the same database). */
  connectionString: string;
  agents: readonly AnyAgentDefinition[];
  /** Jobs run at once per agent queue. */
  concurrency?: number;
  workerId?: string;
  /** Register the agents with the registry at start (default true). */
  sync?: boolean;
  /**
   * Worker heartbeat (liveness, RSS, cancellation check, supervisor tick), in ms. Default 5000. A
   * worker is stale after 3 missed beats, so a dead worker's jobs run again within about 4 beats.
   */
  heartbeatIntervalMs?: number;
  /** Run the database supervisor tick (stale workers, expired claims) from each heartbeat. Default true. */
  superviseJobs?: boolean;
  /** run.lease_renewed is emitted at most this often per job, in ms. Default 15000. */
  leaseEventIntervalMs?: number;
  /** Idle poll when LISTEN/NOTIFY is off (default 0.5 s); with it on, the backstop poll is 2 s at least. */
  pollingIntervalSeconds?: number;
  /**
   * Jobs fetched per pg-boss round trip (default 1, at most `concurrency`). Each job of a batch runs
   * and is recorded on its own, and pg-boss settles the batch in one statement once all of them are
   * done: fewer round trips per job, but the slowest job of a batch holds its loop's other slots
   * until it ends. Raise it for many short jobs; keep 1 for long jobs of uneven length (LLM calls).
   */
  batchSize?: number;
  listenNotify?: boolean;
  /** Overrides of the queue settings (retries, backoff, expiry, heartbeat) for this worker's agents. */
  queue?: QueueOverrides;
  /**
   * Also work the retrieval index's embedding queue (actp.memory.embed) with the embedder of this
   * process's environment (default true): every `actp worker` and `actp dev` keeps the index fresh.
   */
  embeddings?: boolean;
  /** Run pg-boss's own supervisor here too (default true). */
  supervise?: boolean;
  /** Platform queues worked beside the agents' (default: PLATFORM_SERVICES, e.g. the memory gate's critic); [] for none. */
  services?: readonly ServiceQueue[];
  log?: (line: string) => void;
}

interface ActiveJob {
  abort: AbortController;
  lastLeaseEventAt: number;
}

type BossJob = JobWithMetadata<{ agent?: string }>;

export const WORK_DEFAULTS = { concurrency: 4, batchSize: 1, pollingIntervalSeconds: 0.5 } as const;

export interface WorkLoopOptions {
  /** Jobs run at once on the queue: loops × batchSize. */
  concurrency: number;
  batchSize: number;
  pollingIntervalSeconds: number;
}

type PerJobResult = { id: string; status: "completed" | "failed" | "deadletter"; output?: unknown };

export const DEFAULT_HEARTBEAT_MS = 5000;

/** An attempt whose failure the runtime has already settled; carries pg-boss's disposition for it. */
class SettledFailure {
  constructor(
    readonly disposition: "failed" | "deadletter",
    readonly output: unknown,
  ) {}
}

/**
 * Works a queue with ceil(concurrency / batchSize) fetch loops, each holding at most one batch,
 * each job of a batch settled on its own (perJobResults: a failed job retries alone; pg-boss
 * settles the batch in one statement). Returns the loops' pg-boss worker ids, for offWork.
 *
 * Why not pg-boss's own localConcurrency: its loop waits after every fetch unless NOTIFY woke it
 * meanwhile, and with NOTIFY on it waits notifyPollingIntervalSeconds (30 s by default) even after
 * a fetch that found work. A backlog (jobs submitted before the workers started, or faster than
 * they are worked, once submitting stops) then drains at one fetch per loop per 30 s: the "hang" of
 * the first benchmark. Its burst options do not cover batch size 1. Here each loop wakes itself
 * (notifyWorker) once its batch is done, so a loop that found work fetches again at once, and only
 * a loop that found nothing waits: for NOTIFY, or for the short backstop that also picks up jobs
 * whose start_after (a retry's backoff) has passed, which nobody notifies.
 */
export async function workLoops<T extends object>(
  boss: PgBoss,
  queue: string,
  o: WorkLoopOptions,
  handle: (job: JobWithMetadata<T>) => Promise<PerJobResult>,
): Promise<string[]> {
  const batchSize = Math.max(1, Math.min(o.batchSize, o.concurrency));
  const loops = Math.max(1, Math.ceil(o.concurrency / batchSize));
  const polling = Math.max(0.5, o.pollingIntervalSeconds);
  const ids: string[] = [];
  for (let i = 0; i < loops; i++) {
    const self = { id: "" };
    self.id = await boss.work(
      queue,
      {
        batchSize,
        localConcurrency: 1,
        includeMetadata: true,
        perJobResults: true,
        pollingIntervalSeconds: polling,
        notifyPollingIntervalSeconds: Math.max(polling, 2),
      },
      async (jobs: JobWithMetadata<T>[]) => {
        const results = await Promise.all(jobs.map((job) => handle(job)));
        if (self.id) boss.notifyWorker(self.id);
        return results;
      },
    );
    ids.push(self.id);
  }
  return ids;
}

export function newWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

export class JobWorker {
  readonly workerId: string;
  readonly boss: PgBoss;
  readonly scratchpads = new ScratchpadRegistry();
  readonly #o: WorkerOptions;
  readonly #agents = new Map<string, AnyAgentDefinition>();
  readonly #active = new Map<string, ActiveJob>();
  #status: plans.WorkerStatus = "alive";
  #heartbeat: NodeJS.Timeout | null = null;
  readonly #works: { id: string; queue: string }[] = [];
  #started = false;

  constructor(o: WorkerOptions) {
    this.#o = o;
    this.workerId = o.workerId ?? newWorkerId();
    for (const a of o.agents) this.#agents.set(a.slug, a);
    const concurrency = o.concurrency ?? 4;
    this.boss = createBoss(o.connectionString, {
      supervise: o.supervise ?? true,
      listenNotify: o.listenNotify ?? true,
      max: Math.max(4, (this.#agents.size + (o.services ?? PLATFORM_SERVICES).length) * concurrency + 2),
    });
  }

  get activeJobs(): number {
    return this.#active.size;
  }

  get status(): plans.WorkerStatus {
    return this.#status;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const log = this.#o.log ?? (() => {});
    await this.boss.start();
    const agents = [...this.#agents.values()];
    if (this.#o.sync !== false && agents.length > 0) await syncAgents(this.#o.db, agents);
    await ensureAgentQueues(this.boss, agents.map((a) => ({ slug: a.slug, retry: a.retry })), this.#o.queue);
    const interval = this.#o.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS;
    await plans.registerWorker(this.#o.db, {
      workerId: this.workerId,
      host: hostname(),
      pid: process.pid,
      agents: [...this.#agents.keys()],
      rssBytes: process.memoryUsage().rss,
      heartbeatMs: interval,
    });
    this.#heartbeat = setInterval(() => void this.heartbeat().catch((err) => log(`heartbeat failed: ${(err as Error).message}`)), interval);
    this.#heartbeat.unref();
    const concurrency = this.#o.concurrency ?? WORK_DEFAULTS.concurrency;
    const loops = {
      concurrency,
      batchSize: this.#o.batchSize ?? WORK_DEFAULTS.batchSize,
      pollingIntervalSeconds: this.#o.pollingIntervalSeconds ?? WORK_DEFAULTS.pollingIntervalSeconds,
    };
    for (const slug of this.#agents.keys()) {
      const queue = queueName(slug);
      for (const id of await workLoops<{ agent?: string }>(this.boss, queue, loops, (job) => this.#settle(job))) {
        this.#works.push({ id, queue });
      }
    }
    const services = this.#o.services ?? PLATFORM_SERVICES;
    await ensureServiceQueues(this.boss, services);
    for (const svc of services) {
      for (const id of await workLoops<object>(this.boss, svc.queue, loops, (job) => runServiceJob(this.#o.db, svc, job))) {
        this.#works.push({ id, queue: svc.queue });
      }
    }
    if (this.#o.embeddings !== false) {
      const id = await workEmbedQueue(this.boss, this.#o.db, { pollingIntervalSeconds: loops.pollingIntervalSeconds, log });
      this.#works.push({ id, queue: EMBED_QUEUE });
    }
    log(`worker ${this.workerId}: working ${[...this.#agents.keys(), ...services.map((s) => s.queue)].join(", ")} (concurrency ${concurrency})`);
  }

  /** One heartbeat: liveness, RSS and lease events; aborts jobs that were cancelled or reassigned. */
  async heartbeat(): Promise<void> {
    const now = Date.now();
    const leaseEvery = this.#o.leaseEventIntervalMs ?? 15_000;
    const running = [...this.#active.keys()];
    const renew = running.filter((id) => now - this.#active.get(id)!.lastLeaseEventAt >= leaseEvery);
    const abort = await plans.heartbeatWorker(this.#o.db, {
      workerId: this.workerId,
      rssBytes: process.memoryUsage().rss,
      status: this.#status,
      running,
      renew,
      leaseSeconds: Math.ceil(leaseEvery / 1000) * 2,
      supervise: this.#o.superviseJobs !== false && this.#status === "alive",
    });
    for (const id of renew) {
      const a = this.#active.get(id);
      if (a) a.lastLeaseEventAt = now;
    }
    for (const id of abort) this.#active.get(id)?.abort.abort(new JobAbortedError(`job ${id} was cancelled or its claim was released`));
  }

  /** Stops taking jobs and waits for the ones it holds (drain); the registration says `status`. */
  async drain(status: "recycled" | "dead" = "recycled"): Promise<void> {
    this.#status = "draining";
    // offWork marks every fetch loop as stopping before its first await, so no fetch starts after
    // this line; the registration then says `draining`, and the wait covers the batches in hand.
    const stopped = this.#works.map((w) => this.boss.offWork(w.queue, { id: w.id, wait: true }).catch(() => {}));
    await this.heartbeat().catch(() => {});
    await Promise.all(stopped);
    while (this.#active.size > 0) await new Promise((r) => setTimeout(r, 50));
    await this.stop(status);
  }

  async stop(status: "recycled" | "dead" = "dead"): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    this.#status = status;
    if (this.#started) {
      await this.heartbeat().catch(() => {});
      await this.boss.stop({ graceful: true, close: true, timeout: 5000 }).catch(() => {});
    }
    this.#started = false;
  }

  /** Runs one job of a batch and turns its end into pg-boss's per-job disposition. */
  async #settle(job: BossJob): Promise<PerJobResult> {
    try {
      return { id: job.id, status: "completed", output: await this.#run(job) };
    } catch (err) {
      // A settled failure's "failed" finds the attempt already moved on (pg-boss's fence): a no-op.
      if (err instanceof SettledFailure) return { id: job.id, status: err.disposition, output: err.output };
      return { id: job.id, status: "failed", output: toJobError(err, null) };
    }
  }

  /**
   * Settles a failed attempt. Not retriable: actp records it dead and pg-boss dead-letters it
   * (perJobResults "deadletter"). Otherwise pg-boss fails it (its retry, its backoff), a
   * RetryAfterError or a denial's retry_after moves that retry to its time (update startAfter), and
   * actp records what pg-boss decided, all in one transaction.
   */
  async #fail(job: BossJob, attempt: number, err: unknown, error: JobError, timeoutMs: number | null): Promise<never> {
    const db = this.#o.db;
    let decision: FailureDecision = timeoutMs !== null ? { kind: "backoff" } : decideFailure(err);
    // Incident mode fails fast (PRD §4.10): an attempt after the first is not retried. The rule
    // and the mode live in the database (actp_retry_allowed), asked only when a retry is at stake.
    if (decision.kind !== "never" && attempt >= 2 && !(await plans.retryAllowed(db, attempt))) {
      decision = { kind: "never", reason: "incident_fail_fast" };
    }
    if (decision.kind === "never") {
      await plans.failAttempt(db, {
        jobId: job.id, workerId: this.workerId, attempt, error, queue: job.name, willRetry: false, reason: decision.reason, timeoutMs,
      });
      throw new SettledFailure("deadletter", error);
    }
    await db.transaction(async (tx) => {
      const viaTx = { db: { executeSql: (text: string, values?: unknown[]) => tx.query(text, values) } };
      await this.boss.fail(job.name, { id: job.id, retryCount: job.retryCount }, error, viaTx);
      if (decision.kind === "after") {
        await this.boss.update(job.name, undefined, { id: job.id, startAfter: new Date(Date.now() + decision.ms), ...viaTx });
      }
      await plans.failAttempt(tx, {
        jobId: job.id, workerId: this.workerId, attempt, error, queue: job.name, willRetry: null,
        reason: decision.kind === "after" ? decision.reason : "backoff", timeoutMs,
      });
    });
    throw new SettledFailure("failed", error);
  }

  async #run(job: BossJob): Promise<unknown> {
    const db = this.#o.db;
    const slug = job.data?.agent ?? job.name.replace(/^actp\.agent\./, "");
    const agent = this.#agents.get(slug);
    if (!agent) throw new Error(`this worker has no agent "${slug}"`);
    const attempt = job.retryCount + 1;
    const started = await plans.startJob(db, {
      jobId: job.id,
      workerId: this.workerId,
      attempt,
      queue: job.name,
      leaseSeconds: job.heartbeatSeconds ?? job.expireInSeconds,
    });
    // Cancelled or already settled: pg-boss completes its copy, nothing runs.
    if (!started) return { skipped: true };

    const abort = new AbortController();
    this.#active.set(job.id, { abort, lastLeaseEventAt: Date.now() });
    const signal = AbortSignal.any([job.signal, abort.signal]);
    const timeoutMs = job.expireInSeconds * 1000;
    // A little before pg-boss's own expiry, so actp's record says timed out before pg-boss fails it.
    const timer = setTimeout(() => abort.abort(new JobTimeoutError(timeoutMs)), Math.max(100, timeoutMs - 250));
    const ctx = createJobContext({
      db,
      jobId: job.id,
      agent: slug,
      input: started.input,
      attempt,
      signal,
      scratchpads: this.scratchpads,
      completedSteps: started.completed_steps,
    });
    try {
      const parsed = await agent.input.safeParseAsync(started.input);
      if (!parsed.success) {
        throw new InvalidJobInputError(
          slug,
          parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)), message: i.message, code: i.code })),
        );
      }
      const output = await untilAborted(Promise.resolve(agent.handler(ctx, parsed.data)), signal);
      await plans.completeJob(db, job.id, this.workerId, attempt, output);
      return null;
    } catch (err) {
      const reason = signal.aborted ? signal.reason : null;
      // Cancelled, or released to another worker: that side has settled the job already.
      if (reason instanceof JobAbortedError) throw err;
      const timedOut = reason instanceof JobTimeoutError;
      const error = toJobError(timedOut ? reason : err, stepOfError(err) ?? lastRunningStep(ctx));
      return await this.#fail(job, attempt, err, error, timedOut ? timeoutMs : null);
    } finally {
      clearTimeout(timer);
      this.#active.delete(job.id);
      this.scratchpads.release(job.id);
    }
  }
}

/** Settles with p, or rejects with the abort reason as soon as signal aborts (the handler may ignore it). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

export async function startWorker(o: WorkerOptions): Promise<JobWorker> {
  const w = new JobWorker(o);
  await w.start();
  return w;
}
