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

/**
 * Workers not stopped, plus those stopped in the last hour. `alive`: the supervisor has not marked
 * it dead and its last heartbeat is within its own stale threshold, the one the supervisor applies
 * by default: 3 of its heartbeat intervals (a worker on the default 5 s beat is overdue after 15 s),
 * or 30 s for a worker that does not report its interval. `staleMs` overrides that for every worker.
 */
export async function listWorkers(db: Queryable, staleMs: number | null = null): Promise<WorkerRow[]> {
  const { rows } = await db.query<WorkerRow>(
    `select w.worker_id, w.host, w.pid, w.agents, w.status, w.started_at::text, w.last_heartbeat_at::text,
            (extract(epoch from (now() - w.last_heartbeat_at)) * 1000)::bigint::int as heartbeat_age_ms,
            (w.status = 'alive' and w.last_heartbeat_at > now() - coalesce(
               make_interval(secs => $1::double precision / 1000),
               public.actp_worker_stale_after(w.heartbeat_interval_ms))) as alive,
            w.heartbeat_interval_ms,
            w.rss_bytes::float8 as rss_bytes,
            (select count(*)::int from public.actp_jobs j where j.worker_id = w.worker_id and j.status = 'running') as running_jobs
       from public.actp_worker_registrations w
      where w.stopped_at is null or w.stopped_at > now() - interval '1 hour'
      order by w.last_heartbeat_at desc
      limit 500`,
    [staleMs],
  );
  return rows;
}
