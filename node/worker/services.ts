// Platform queues every worker also works, beside its agents' queues: jobs that actp itself
// enqueues from SQL (today the memory gate's critic, actp.memory.critic). They carry no actp_jobs
// record of their own: their effect is in their tables (a proposal's score and decision) and their
// retries are pg-boss's.
import type { JobWithMetadata, PgBoss } from "pg-boss";
import type { Database } from "../../shared/db/types.ts";
import { judgeFromEnv } from "../../shared/critic/config.ts";
import { CRITIC_QUEUE, runProposalCritic } from "../../shared/memory-gate/critic-job.ts";

export interface ServiceQueue {
  queue: string;
  /** pg-boss createQueue options; the SQL that enqueues creates the queue with the same ones. */
  options: Record<string, unknown>;
  handle(db: Database, data: unknown): Promise<unknown>;
}

export const memoryCriticService: ServiceQueue = {
  queue: CRITIC_QUEUE,
  // Mirrors actp_memory_critic_enqueue(): one waiting and one running job per proposal.
  options: { policy: "stately", retryLimit: 5, retryDelay: 5, retryBackoff: true, retryDelayMax: 600, expireInSeconds: 600, retentionSeconds: 86400 },
  async handle(db, data) {
    const id = (data as { proposal_id?: unknown } | null)?.proposal_id;
    if (typeof id !== "string") throw new Error("actp.memory.critic job without a proposal_id");
    return runProposalCritic(db, id, await judgeFromEnv(db));
  },
};

/** The platform queues a worker works unless told otherwise (WorkerOptions.services). */
export const PLATFORM_SERVICES: readonly ServiceQueue[] = [memoryCriticService];

export async function ensureServiceQueues(boss: PgBoss, services: readonly ServiceQueue[]): Promise<void> {
  for (const s of services) {
    if (!(await boss.getQueue(s.queue))) await boss.createQueue(s.queue, s.options as Parameters<PgBoss["createQueue"]>[1]);
  }
}

export async function runServiceJob(db: Database, s: ServiceQueue, job: JobWithMetadata<unknown>): Promise<{ id: string; status: "completed" | "failed"; output?: unknown }> {
  try {
    return { id: job.id, status: "completed", output: await s.handle(db, job.data) };
  } catch (err) {
    return { id: job.id, status: "failed", output: err };
  }
}
