// Every statement of the local scheduler, one small function each (pg-boss's plans.ts habit).
import type { Queryable } from "../../shared/db/types.ts";

export interface ScheduleRow {
  name: string;
  cron_expr: string;
  command: string;
  critical: boolean;
  updated_at: string;
  last_slot: string | null;
  running_elsewhere: boolean;
}

export interface TickState {
  pg_cron_active: boolean;
  mode: string;
  schedules: ScheduleRow[];
}

// A run is "running elsewhere" only while the runner that claimed it still ticks; a crashed runner
// must not block its schedules forever.
const LIVE_RUNNER_SECONDS = 30;

export async function tickState(db: Queryable, executorId: string, now: Date): Promise<TickState> {
  const { rows } = await db.query<TickState>(
    `with touch as (
       update public.actp_scheduler_executors set last_tick_at = $2 where executor_id = $1
     )
     select public.actp_pg_cron_active() as pg_cron_active,
            public.actp_platform_mode() as mode,
            coalesce((
              select jsonb_agg(jsonb_build_object(
                'name', s.name, 'cron_expr', s.cron_expr, 'command', s.command, 'critical', s.critical,
                'updated_at', s.updated_at,
                'last_slot', (select max(r.scheduled_for) from public.actp_schedule_runs r where r.schedule_name = s.name),
                'running_elsewhere', exists (
                  select 1 from public.actp_schedule_runs r
                  join public.actp_scheduler_executors e on e.executor_id = r.runner_id
                  where r.schedule_name = s.name and r.status = 'running' and r.runner_id <> $1
                    and e.last_tick_at > $2::timestamptz - make_interval(secs => $3))
              ) order by s.name)
              from public.actp_schedules s where s.enabled
            ), '[]'::jsonb) as schedules`,
    [executorId, now.toISOString(), LIVE_RUNNER_SECONDS],
  );
  return rows[0]!;
}

export async function registerExecutor(db: Queryable, id: string, host: string, pid: number): Promise<void> {
  await db.query(
    `insert into public.actp_scheduler_executors (executor_id, kind, host, pid) values ($1, 'local', $2, $3)
     on conflict (executor_id) do update set last_tick_at = now()`,
    [id, host, pid],
  );
}

export async function unregisterExecutor(db: Queryable, id: string): Promise<void> {
  await db.query(`delete from public.actp_scheduler_executors where executor_id = $1`, [id]);
}

/** The claim: exactly one runner inserts the row for a slot. */
export async function claimSlot(
  db: Queryable,
  name: string,
  slot: Date,
  runnerId: string,
  status: "running" | "skipped" | "missed",
  note: string | null,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into public.actp_schedule_runs (schedule_name, scheduled_for, executor, runner_id, status, error, finished_at)
     values ($1, $2, 'local', $3, $4, $5, case when $4 = 'running' then null else now() end)
     on conflict (schedule_name, scheduled_for) do nothing`,
    [name, slot.toISOString(), runnerId, status, note],
  );
  return rowCount === 1;
}

export async function finishRun(db: Queryable, name: string, slot: Date, status: "succeeded" | "failed", error: string | null): Promise<void> {
  await db.query(
    `update public.actp_schedule_runs set status = $3, error = $4, finished_at = now()
     where schedule_name = $1 and scheduled_for = $2`,
    [name, slot.toISOString(), status, error],
  );
}
