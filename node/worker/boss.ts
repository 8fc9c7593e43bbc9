// pg-boss for actp: one way to construct it, to install its schema, and to create agent queues with
// actp's queue settings (shared/jobs/queue.ts, mirrored by actp_jobs_queue_defaults() in SQL).
import { PgBoss } from "pg-boss";
import type { AgentRetry } from "./agents/define.ts";
import { ACTP_QUEUE_DEFAULTS, DLQ_QUEUE, queueName } from "../../shared/jobs/queue.ts";

export interface BossOptions {
  /** Run pg-boss's own supervisor (expiry and heartbeat-loss sweeps) in this process. */
  supervise?: boolean;
  /** Use LISTEN/NOTIFY to wake workers the moment a job is submitted (polling stays as the floor). */
  listenNotify?: boolean;
  max?: number;
  applicationName?: string;
}

export function createBoss(connectionString: string, o: BossOptions = {}): PgBoss {
  const boss = new PgBoss({
    connectionString,
    schema: "pgboss",
    max: o.max ?? 10,
    application_name: o.applicationName ?? "actp-worker",
    supervise: o.supervise ?? true,
    superviseIntervalSeconds: 10,
    schedule: false,
    useListenNotify: o.listenNotify ?? true,
  } as ConstructorParameters<typeof PgBoss>[0]);
  // pg-boss reports background errors as events; an unhandled 'error' event would kill the process.
  // pg-boss re-emits worker errors as plain objects ({ ...err, message, queue, worker }), not Errors.
  boss.on("error", (err: unknown) => {
    const message = typeof err === "object" && err !== null && "message" in err ? String(err.message) : String(err);
    console.error("[actp worker] pg-boss:", message);
  });
  return boss;
}

/**
 * Installs (or migrates) pg-boss's schema and stops again. The dev process and the worker run this
 * before anything submits: actp_jobs_submit needs the pgboss schema and says so when it is missing.
 */
export async function installQueueEngine(connectionString: string): Promise<void> {
  const boss = createBoss(connectionString, { supervise: false, listenNotify: false, max: 2 });
  await boss.start();
  await boss.stop({ graceful: false, close: true });
}

export type QueueOverrides = Partial<{
  retryLimit: number;
  retryDelay: number;
  retryBackoff: boolean;
  retryDelayMax: number;
  expireInSeconds: number;
  heartbeatSeconds: number;
}>;

/** pg-boss queue options for an agent's retry policy (retryLimit, retryDelay, retryBackoff, retryDelayMax). */
export function retryQueueOptions(retry: AgentRetry | undefined): QueueOverrides {
  if (!retry) return {};
  const out: QueueOverrides = {};
  if (retry.limit !== undefined) out.retryLimit = retry.limit;
  const b = retry.backoff;
  if (b) {
    out.retryBackoff = b.type === "exponential";
    if (b.delayMs !== undefined) out.retryDelay = Math.ceil(b.delayMs / 1000);
    if (b.maxDelayMs !== undefined) out.retryDelayMax = Math.max(1, Math.ceil(b.maxDelayMs / 1000));
  }
  return out;
}

/**
 * Creates the dead-letter queue and each agent's queue, and brings existing queues to these
 * settings: actp's defaults, then the agent's own retry policy, then this worker's overrides.
 */
export async function ensureAgentQueues(
  boss: PgBoss,
  agents: readonly (string | { slug: string; retry?: AgentRetry })[],
  overrides: QueueOverrides = {},
): Promise<void> {
  await boss.createQueue(DLQ_QUEUE, { retentionSeconds: 14 * 24 * 3600 });
  for (const agent of agents) {
    const { slug, retry } = typeof agent === "string" ? { slug: agent, retry: undefined } : agent;
    const { policy, retryDelayMax, ...rest } = { ...ACTP_QUEUE_DEFAULTS, ...retryQueueOptions(retry), ...overrides };
    // pg-boss allows a maximum delay only with backoff.
    const settings = rest.retryBackoff ? { ...rest, retryDelayMax } : rest;
    const name = queueName(slug);
    await boss.createQueue(name, { policy, ...settings });
    await boss.updateQueue(name, rest.retryBackoff ? settings : { ...settings, retryDelayMax: null });
  }
}
