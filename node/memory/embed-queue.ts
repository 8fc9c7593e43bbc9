// The embedding worker: works pg-boss queue actp.memory.embed, whose jobs are wake-ups (one queued
// per index generation, sent by the source triggers and the retry schedule). Each job drains the
// generation's due rows with this process's embedder (ACTP_EMBEDDER...); a generation embedded by
// another embedder, or inline in SQL, is not this worker's and its job completes at once.
import type { PgBoss } from "pg-boss";
import type { Database } from "../../shared/db/types.ts";
import { drainEmbeddings, EMBED_QUEUE } from "../../shared/memory/embed-work.ts";
import { embedderFromEnv, type Embedder } from "../../shared/memory/embedders/index.ts";

export interface EmbedQueueOptions {
  embedder?: Embedder;
  batchSize?: number;
  pollingIntervalSeconds?: number;
  log?: (line: string) => void;
}

export async function ensureEmbedQueue(boss: PgBoss): Promise<void> {
  // The same settings actp_retrieval_wake() creates it with, when SQL gets there first.
  await boss.createQueue(EMBED_QUEUE, { policy: "stately", retryLimit: 5, retryDelay: 5, retryBackoff: true, expireInSeconds: 900, retentionSeconds: 86400 });
}

/** Starts working the queue; returns the pg-boss worker id (for offWork). */
export async function workEmbedQueue(boss: PgBoss, db: Database, o: EmbedQueueOptions = {}): Promise<string> {
  await ensureEmbedQueue(boss);
  const embedder = o.embedder ?? embedderFromEnv(db);
  return boss.work<{ generation?: number }>(
    EMBED_QUEUE,
    { batchSize: 1, pollingIntervalSeconds: Math.max(0.5, o.pollingIntervalSeconds ?? 2) },
    async ([job]) => {
      const generation = typeof job?.data?.generation === "number" ? job.data.generation : undefined;
      const r = await drainEmbeddings(db, embedder, { generation, batchSize: o.batchSize ?? 64 });
      if (r.claimed > 0) o.log?.(`embeddings: generation ${r.generations.join(",")}: ${r.written} written, ${r.discarded} superseded, ${r.failed} failed${r.promoted ? ", new generation switched in" : ""}`);
      // A failed batch was released with a backoff; fail the job so pg-boss retries the wake-up too.
      if (r.failed > 0) throw new Error(`embedding failed for ${r.failed} rows`);
      return r;
    },
  );
}
