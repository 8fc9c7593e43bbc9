// The worker fleet as operators see it (dashboard overview, /jobs/workers): each registered worker,
// whether its heartbeat is recent, the agents it serves and the jobs it holds.
import type { Queryable } from "../db/types.ts";

export interface WorkerRow {
  worker_id: string;
  host: string;
  pid: number;
  agents: string[];
  status: string;
  started_at: string;
  last_heartbeat_at: string;
  heartbeat_age_ms: number;
  alive: boolean;
  heartbeat_interval_ms: number | null;
  rss_bytes: number | null;
  running_jobs: number;
}

/** The supervisor's stale threshold (actp_settings): an explicit seconds override, else beats of a worker's interval. */
export interface StaleRule {
  seconds: number | null;
  beats: number;
}

/**
 * Reads the supervisor's rule. actp_settings is the service role's alone, so this runs on the
 * platform's own connection (after the caller is authorized), never as the caller.
 */
export async function workerStaleRule(db: Queryable): Promise<StaleRule> {
  const { rows } = await db.query<StaleRule>(
    `select public.actp_setting_int('worker_stale_seconds', null) as seconds, public.actp_setting_int('worker_stale_beats', 3) as beats`,
  );
  return rows[0] ?? { seconds: null, beats: 3 };
}

/**
 * Workers not stopped, plus those stopped in the last hour. `alive`: the supervisor has not marked
 * it dead and its last heartbeat is within the threshold the supervisor applies to it (`rule`:
 * worker_stale_seconds, else worker_stale_beats of its heartbeat interval, default 3; else 30 s
 * for a worker that does not report its interval). `staleMs` overrides that for every worker.
 */
export async function listWorkers(db: Queryable, opts: { staleMs?: number | null; rule?: StaleRule } = {}): Promise<WorkerRow[]> {
  const rule = opts.rule ?? { seconds: null, beats: 3 };
  const { rows } = await db.query<WorkerRow>(
    `select w.worker_id, w.host, w.pid, w.agents, w.status, w.started_at::text, w.last_heartbeat_at::text,
            (extract(epoch from (now() - w.last_heartbeat_at)) * 1000)::bigint::int as heartbeat_age_ms,
            (w.status = 'alive' and w.last_heartbeat_at > now() - coalesce(
               make_interval(secs => $1::double precision / 1000),
               $2::int * interval '1 second',
               w.heartbeat_interval_ms * $3::int * interval '1 millisecond',
               interval '30 seconds')) as alive,
            w.heartbeat_interval_ms,
            w.rss_bytes::float8 as rss_bytes,
            (select count(*)::int from public.actp_jobs j where j.worker_id = w.worker_id and j.status = 'running') as running_jobs
       from public.actp_worker_registrations w
      where w.stopped_at is null or w.stopped_at > now() - interval '1 hour'
      order by w.last_heartbeat_at desc
      limit 500`,
    [opts.staleMs ?? null, rule.seconds, rule.beats],
  );
  return rows;
}
