// Every SQL statement of the job runtime, one small typed function each (pg-boss's plans.ts habit).
// Submitters, the jobs function, the worker and the supervisor call these, never raw strings.
import type { Queryable } from "../db/types.ts";
import type { JobError, JobStatus, SubmitOptions, SubmitResponse } from "./contracts.ts";

export interface AgentForSubmit {
  slug: string;
  version: number;
  enabled: boolean;
  input_schema: Record<string, unknown>;
}

export async function agentForSubmit(db: Queryable, slug: string): Promise<AgentForSubmit | null> {
  const { rows } = await db.query<AgentForSubmit>(
    `select slug, version, enabled, input_schema from public.actp_agent_definitions where slug = $1`,
    [slug],
  );
  return rows[0] ?? null;
}

/**
 * One statement: the pg-boss job, actp's record, job.received; warning when no live worker serves
 * the agent. expectedVersion: the agent version whose schema validated the input; when the agent has
 * changed since, the database refuses with jobs.agent_changed and nothing is written.
 */
export async function submit(
  db: Queryable,
  agent: string,
  input: unknown,
  options: SubmitOptions = {},
  expectedVersion: number | null = null,
): Promise<SubmitResponse> {
  const { rows } = await db.query<{ r: SubmitResponse }>(`select public.actp_jobs_enqueue($1, $2::jsonb, $3::jsonb, $4) as r`, [
    agent,
    JSON.stringify(input),
    JSON.stringify(options),
    expectedVersion,
  ]);
  return rows[0]!.r;
}

export async function cancel(db: Queryable, jobId: string, by: string | null, reason: string | null): Promise<void> {
  await db.query(`select public.actp_jobs_cancel($1, $2, $3)`, [jobId, by, reason]);
}

export async function getJob(db: Queryable, jobId: string): Promise<JobStatus | null> {
  const { rows } = await db.query<{ job: JobStatus }>(
    `select jsonb_build_object(
        'id', j.id, 'agent', j.agent_slug, 'agent_version', j.agent_version, 'job_type', j.job_type,
        'status', j.status, 'attempts', j.attempts, 'max_attempts', j.max_attempts, 'worker_id', j.worker_id,
        'progress', j.progress, 'output', j.output, 'error', j.error,
        'replay_of', j.replay_of, 'replay_from_step', j.replay_from_step,
        'created_at', j.created_at, 'started_at', j.started_at, 'finished_at', j.finished_at, 'updated_at', j.updated_at,
        'steps', coalesce((
          select jsonb_agg(jsonb_build_object(
                   'ordinal', s.ordinal, 'name', s.name, 'status', s.status, 'attempt', s.attempt,
                   'reused_from_job', s.reused_from_job, 'started_at', s.started_at, 'finished_at', s.finished_at,
                   'duration_ms', case when s.finished_at is null then null
                                       else round(extract(epoch from (s.finished_at - s.started_at)) * 1000) end,
                   'error', s.error) order by s.ordinal)
            from public.actp_job_steps s where s.job_id = j.id), '[]'::jsonb)) as job
       from public.actp_jobs j where j.id = $1`,
    [jobId],
  );
  return rows[0]?.job ?? null;
}

// --- worker -------------------------------------------------------------------------------------

export interface StartedJob {
  input: unknown;
  agent_version: number | null;
  max_attempts: number | null;
  created_at: string;
  replay_of: string | null;
  completed_steps: Record<string, { output: unknown; ordinal: number }>;
}

export async function startJob(
  db: Queryable,
  a: { jobId: string; workerId: string; attempt: number; queue: string; leaseSeconds: number },
): Promise<StartedJob | null> {
  const { rows } = await db.query<{ started: StartedJob | null }>(
    `select public.actp_jobs_start($1, $2, $3, $4, $5) as started`,
    [a.jobId, a.workerId, a.attempt, a.queue, a.leaseSeconds],
  );
  return rows[0]?.started ?? null;
}

export type StepBegin = { status: "completed"; output: unknown } | { status: "running" };

/** Writes the running row of a step that started at `startedAt` (it is written late, see context.ts). */
export async function stepBegin(db: Queryable, jobId: string, name: string, inputHash: string | null, attempt: number, startedAt: Date): Promise<StepBegin> {
  const { rows } = await db.query<{ r: StepBegin }>(
    `select public.actp_jobs_step_begin($1, $2, $3, $4, $5) as r`,
    [jobId, name, inputHash, attempt, startedAt.toISOString()],
  );
  return rows[0]!.r;
}

export type StepRecord = { status: "completed" | "failed" } | { status: "already_completed"; output: unknown };

/** Records a step that ran without a running row, in one statement (see actp_jobs_step_record). */
export async function stepRecord(
  db: Queryable,
  jobId: string,
  name: string,
  inputHash: string | null,
  attempt: number,
  startedAt: Date,
  output: unknown,
  error: JobError | null,
): Promise<StepRecord> {
  const { rows } = await db.query<{ r: StepRecord }>(`select public.actp_jobs_step_record($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb) as r`, [
    jobId,
    name,
    inputHash,
    attempt,
    startedAt.toISOString(),
    error ? null : JSON.stringify(output === undefined ? null : output),
    error ? JSON.stringify(error) : null,
  ]);
  return rows[0]!.r;
}

export async function stepFinish(db: Queryable, jobId: string, name: string, output: unknown, error: JobError | null): Promise<void> {
  await db.query(`select public.actp_jobs_step_finish($1, $2, $3::jsonb, $4::jsonb)`, [
    jobId,
    name,
    error ? null : JSON.stringify(output === undefined ? null : output),
    error ? JSON.stringify(error) : null,
  ]);
}

export async function progress(db: Queryable, jobId: string, data: Record<string, unknown>, step: string | null): Promise<void> {
  await db.query(`select public.actp_jobs_progress($1, $2::jsonb, $3)`, [jobId, JSON.stringify(data), step]);
}

export async function completeJob(db: Queryable, jobId: string, workerId: string, attempt: number, output: unknown): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`select public.actp_jobs_complete($1, $2, $3, $4::jsonb) as ok`, [
    jobId,
    workerId,
    attempt,
    JSON.stringify(output === undefined ? null : output),
  ]);
  return rows[0]?.ok === true;
}

/** In incident mode an attempt after the first does not retry (PRD §4.10 fail fast); actp_retry_allowed() holds the rule. */
export async function retryAllowed(db: Queryable, attempt: number): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`select public.actp_retry_allowed($1) as ok`, [attempt]);
  return rows[0]?.ok === true;
}

/**
 * Records a failed attempt. willRetry null: pg-boss was told first in the same transaction, and
 * whether and when it retries is read from its row. reason: why (job.failed.reason).
 */
export async function failAttempt(
  db: Queryable,
  a: {
    jobId: string;
    workerId: string;
    attempt: number;
    error: JobError;
    queue: string;
    willRetry: boolean | null;
    reason: string;
    timeoutMs: number | null;
  },
): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    `select public.actp_jobs_fail_attempt($1, $2, $3, $4::jsonb, $5, $6, $7, $8) as ok`,
    [a.jobId, a.workerId, a.attempt, JSON.stringify(a.error), a.queue, a.willRetry, a.reason, a.timeoutMs],
  );
  return rows[0]?.ok === true;
}

// --- worker registrations and supervisor --------------------------------------------------------

export type WorkerStatus = "alive" | "draining" | "dead" | "recycled";

export async function registerWorker(
  db: Queryable,
  a: { workerId: string; host: string; pid: number; agents: string[]; rssBytes: number; heartbeatMs?: number },
): Promise<void> {
  await db.query(`select public.actp_workers_register($1, $2, $3, $4, $5, $6)`, [
    a.workerId,
    a.host,
    a.pid,
    a.agents,
    a.rssBytes,
    a.heartbeatMs ?? null,
  ]);
}

/** Returns the ids among `running` that the worker must abort (cancelled or reassigned). */
export async function heartbeatWorker(
  db: Queryable,
  a: {
    workerId: string;
    rssBytes: number;
    status: WorkerStatus;
    running: string[];
    renew: string[];
    leaseSeconds: number;
    /** Also run the supervisor tick (skipped when another one holds its lock). */
    supervise?: boolean;
  },
): Promise<string[]> {
  const { rows } = await db.query<{ abort: string[] }>(
    `select public.actp_workers_heartbeat($1, $2, $3, $4::uuid[], $5::uuid[], $6, $7) as abort`,
    [a.workerId, a.rssBytes, a.status, a.running, a.renew, a.leaseSeconds, a.supervise ?? false],
  );
  return rows[0]?.abort ?? [];
}

export interface SupervisorTickResult {
  dead_workers: string[];
  released: number;
  timed_out: number;
  /** Another tick held the lock; this one did nothing. */
  skipped?: boolean;
}

export async function supervisorTick(db: Queryable, staleSeconds?: number): Promise<SupervisorTickResult> {
  const { rows } = await db.query<{ r: SupervisorTickResult }>(`select public.actp_supervisor_tick($1) as r`, [staleSeconds ?? null]);
  return rows[0]!.r;
}
