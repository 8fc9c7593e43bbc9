// Every SQL statement of SLA tracking (PRD §4.9), one typed function each. Reads run under the
// caller's role (pass a Queryable from db.asRole): RLS decides. Numbers come back as JSON numbers.
import type { Queryable } from "../db/types.ts";
import { notFound } from "../errors.ts";
import type { SlaReport, SlaTarget, SlaTargetInput } from "./contracts.ts";

const TARGET_JSON = `jsonb_build_object('job_type', t.job_type, 'time_to_first_update_ms', t.time_to_first_update_ms,
  'time_to_completion_ms', t.time_to_completion_ms, 'success_objective', t.success_objective,
  'objective_window_days', t.objective_window_days, 'min_bad_jobs', t.min_bad_jobs,
  'expected_jobs_per_hour', t.expected_jobs_per_hour, 'updated_by', t.updated_by,
  'created_at', t.created_at, 'updated_at', t.updated_at)`;

export async function listTargets(db: Queryable): Promise<SlaTarget[]> {
  const { rows } = await db.query<{ t: SlaTarget }>(
    `select ${TARGET_JSON} as t from public.actp_sla_targets t order by t.job_type = '*', t.job_type`,
  );
  return rows.map((r) => r.t);
}

export async function getTarget(db: Queryable, jobType: string): Promise<SlaTarget> {
  const { rows } = await db.query<{ t: SlaTarget }>(`select ${TARGET_JSON} as t from public.actp_sla_targets t where t.job_type = $1`, [jobType]);
  if (!rows[0]) throw notFound("sla.not_found", `no SLA target for job type "${jobType}" (the "*" row applies to it)`);
  return rows[0].t;
}

export async function upsertTarget(db: Queryable, jobType: string, input: SlaTargetInput, actor: string): Promise<SlaTarget> {
  await db.query(`select public.actp_sla_target_upsert($1::jsonb, $2)`, [JSON.stringify({ ...input, job_type: jobType }), actor]);
  return getTarget(db, jobType);
}

export async function deleteTarget(db: Queryable, jobType: string): Promise<boolean> {
  const { rowCount } = await db.query(`delete from public.actp_sla_targets where job_type = $1`, [jobType]);
  return (rowCount ?? 0) > 0;
}

export async function slaReport(db: Queryable, windowSeconds: number, now?: Date): Promise<SlaReport> {
  const { rows } = await db.query<{ r: SlaReport }>(
    `select public.actp_sla_report(make_interval(secs => $1), coalesce($2::timestamptz, now())) as r`,
    [windowSeconds, now?.toISOString() ?? null],
  );
  return rows[0]!.r;
}

export async function slaJob(db: Queryable, jobId: string): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ m: Record<string, unknown> | null }>(`select public.actp_sla_job($1::uuid) as m`, [jobId]);
  if (!rows[0]?.m) throw notFound("sla.not_found", `no SLA measurement for job "${jobId}" (no job.received was recorded for it)`);
  return rows[0].m;
}

/** The in-flight sweep the schedule runs; exposed for tests and `actp dev`. */
export async function sweep(db: Queryable, now?: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select public.actp_sla_sweep(coalesce($1::timestamptz, now())) as n`, [now?.toISOString() ?? null]);
  return rows[0]!.n;
}
