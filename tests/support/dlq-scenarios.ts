// Scenario builders for the DLQ and forensics tests: agents, jobs, steps and events inserted
// directly (the worker runtime is not needed to set up a past run), each with unique names so the
// test files sharing one database never collide.
import { createHash, randomUUID } from "node:crypto";
import { PgBoss } from "pg-boss";
import type { Queryable } from "../../shared/db/types.ts";

/** actp_jobs_submit writes pg-boss's tables; pg-boss installs its schema when it first starts. */
export async function ensurePgBoss(connectionString: string): Promise<void> {
  const boss = new PgBoss({ connectionString, supervise: false, schedule: false, max: 1 });
  boss.on("error", () => {});
  await boss.start();
  await boss.stop({ graceful: false });
}

export function uniqueSlug(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createAgent(db: Queryable, slug: string, inputSchema: Record<string, unknown> = {}, enabled = true): Promise<string> {
  await db.query(
    `insert into public.actp_agent_definitions (slug, description, input_schema, definition_hash, enabled)
     values ($1, 'test agent', $2::jsonb, $3, $4)`,
    [slug, JSON.stringify(inputSchema), createHash("sha256").update(randomUUID()).digest("hex"), enabled],
  );
  return slug;
}

export interface JobSpec {
  agent: string;
  jobType?: string;
  input?: unknown;
  status?: string;
  attempts?: number;
  error?: unknown;
  output?: unknown;
  createdAt?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  replayOf?: string | null;
  replayFromStep?: string | null;
}

export async function insertJob(db: Queryable, s: JobSpec): Promise<string> {
  const id = randomUUID();
  const created = s.createdAt ?? new Date().toISOString();
  await db.query(
    `insert into public.actp_jobs (id, agent_slug, job_type, input, status, attempts, max_attempts, error, output,
                                   created_at, started_at, finished_at, replay_of, replay_from_step)
     values ($1, $2, $3, $4::jsonb, $5, $6, 3, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13)`,
    [
      id,
      s.agent,
      s.jobType ?? s.agent,
      JSON.stringify(s.input ?? {}),
      s.status ?? "running",
      s.attempts ?? 1,
      s.error === undefined ? null : JSON.stringify(s.error),
      s.output === undefined ? null : JSON.stringify(s.output),
      created,
      s.startedAt === undefined ? created : s.startedAt,
      s.finishedAt ?? null,
      s.replayOf ?? null,
      s.replayFromStep ?? null,
    ],
  );
  return id;
}

export interface StepSpec {
  ordinal: number;
  name: string;
  status?: "running" | "completed" | "failed";
  output?: unknown;
  error?: unknown;
  attempt?: number;
  startedAt: string;
  finishedAt?: string | null;
  reusedFrom?: string | null;
}

export async function insertSteps(db: Queryable, jobId: string, steps: StepSpec[]): Promise<void> {
  for (const s of steps) {
    await db.query(
      `insert into public.actp_job_steps (job_id, ordinal, name, status, output, error, attempt, started_at, finished_at, reused_from_job)
       values ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10)`,
      [
        jobId,
        s.ordinal,
        s.name,
        s.status ?? "completed",
        s.output === undefined ? null : JSON.stringify(s.output),
        s.error === undefined ? null : JSON.stringify(s.error),
        s.attempt ?? 1,
        s.startedAt,
        s.finishedAt === undefined ? s.startedAt : s.finishedAt,
        s.reusedFrom ?? null,
      ],
    );
  }
}

export async function insertEvent(
  db: Queryable,
  e: { type: string; jobId: string; at: string; step?: string | null; payload?: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `insert into public.actp_events (type, job_id, step_id, payload, created_at) values ($1, $2, $3, $4::jsonb, $5)`,
    [e.type, e.jobId, e.step ?? null, JSON.stringify(e.payload ?? {}), e.at],
  );
}

/** What the worker runtime does when retries are exhausted. */
export async function markDead(db: Queryable, jobId: string, error: unknown, attempts = 3): Promise<void> {
  await db.query(
    `update public.actp_jobs set status = 'dead', error = $2::jsonb, attempts = $3, finished_at = now() where id = $1`,
    [jobId, error === null ? null : JSON.stringify(error), attempts],
  );
}

/** A job that failed three times in its "fetch" step and was dead-lettered; returns its DLQ id. */
export async function deadJob(db: Queryable, agent: string, input: unknown = { topic: "llm" }, jobType?: string): Promise<{ jobId: string; dlqId: string }> {
  const jobId = await insertJob(db, { agent, input, status: "running", attempts: 3, jobType });
  await markDead(db, jobId, { message: "upstream returned 503", where: "fetch", name: "HttpError" });
  const { rows } = await db.query<{ id: string }>(`select id from public.actp_dlq where original_job_id = $1`, [jobId]);
  return { jobId, dlqId: rows[0]!.id };
}

export const at = (base: number, ms: number) => new Date(base + ms).toISOString();
