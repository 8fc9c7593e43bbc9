-- actp foundation: extensions, canonical events (PRD §4.5), the schedule list and its runs.
-- Forward-only: never edit this file once it has landed; add a new migration instead.
-- Roles anon / authenticated / service_role and auth.* come from Supabase (or from actp's
-- compatibility bootstrap on PGlite and plain Postgres); this migration only uses them.

create schema if not exists extensions;
create extension if not exists vector with schema extensions;

-- pg_cron exists on Supabase and on the CI database, not in PGlite. Where it is missing, or where
-- this database is not cron.database_name, the local runner executes actp_schedules instead.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    begin
      create extension if not exists pg_cron;
    exception when others then
      raise notice 'actp: pg_cron is available but cannot be created here (%); the local scheduler will run actp_schedules', sqlerrm;
    end;
  end if;
end
$$;

-- Shared helpers ---------------------------------------------------------------------------------

-- Raised by every append-only table; the message starts with a stable error code (STYLE.md §4).
create or replace function public.actp_reject_mutation()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception using
    errcode = 'P0001',
    message = format('actp.append_only: %s is append-only; %s is not allowed', tg_table_name, lower(tg_op));
end
$$;

create or replace function public.actp_touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- §4.5 Canonical event types ---------------------------------------------------------------------

create table public.actp_event_types (
  type text primary key
    check (type ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'),
  event_group text not null
    check (event_group in ('job', 'tool', 'research', 'memory', 'scheduler', 'reliability', 'telemetry')),
  description text not null check (length(description) between 1 and 500),
  created_at timestamptz not null default now()
);
comment on table public.actp_event_types is
  'PRD §4.5: every event type actp knows; rows are generated from shared/events/registry.ts.';

-- One append-only log: the episodic memory, the SLA clock, the incident detector's input and
-- the replay timeline. seq is the total order (keyset pagination, timelines); created_at is wall time.
create table public.actp_events (
  seq bigint generated always as identity primary key,
  id uuid not null default gen_random_uuid() unique,
  type text not null references public.actp_event_types (type),
  job_id uuid,
  step_id text check (step_id is null or length(step_id) between 1 and 200),
  agent_slug text check (agent_slug is null or length(agent_slug) between 1 and 100),
  tool_name text check (tool_name is null or length(tool_name) between 1 and 200),
  payload jsonb not null default '{}'::jsonb check (jsonb_typeof(payload) = 'object'),
  created_at timestamptz not null default now()
);
comment on table public.actp_events is 'PRD §4.5: canonical, append-only event log.';

-- A job's timeline in order; a type over time; a time range.
create index actp_events_job_seq_idx on public.actp_events (job_id, seq) where job_id is not null;
create index actp_events_type_time_idx on public.actp_events (type, created_at, seq);
create index actp_events_time_idx on public.actp_events (created_at, seq);

create trigger tg_actp_events__append_only
  before update or delete on public.actp_events
  for each row execute function public.actp_reject_mutation();
create trigger tg_actp_events__no_truncate
  before truncate on public.actp_events
  for each statement execute function public.actp_reject_mutation();

-- For plpgsql components (triggers, schedules) that emit without going through TypeScript.
-- The type is still checked by the foreign key. plpgsql rather than SQL: a SQL function called
-- from plpgsql is parsed and planned on every call, and this one is on every hot path.
create or replace function public.actp_emit(
  p_type text,
  p_payload jsonb default '{}'::jsonb,
  p_job_id uuid default null,
  p_step_id text default null,
  p_agent_slug text default null,
  p_tool_name text default null
)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_seq bigint;
begin
  insert into public.actp_events (type, payload, job_id, step_id, agent_slug, tool_name)
  values (p_type, coalesce(p_payload, '{}'::jsonb), p_job_id, p_step_id, p_agent_slug, p_tool_name)
  returning seq into v_seq;
  return v_seq;
end
$$;

-- Schedules: one list, two executors -------------------------------------------------------------

-- pg_cron's 5-field syntax (minute hour day-of-month month day-of-week), checked loosely here:
-- five fields of the characters cron allows. The runners parse them exactly.
create or replace function public.actp_cron_is_valid(expr text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select expr ~ '^\s*[0-9A-Za-z*/,$-]+(\s+[0-9A-Za-z*/,?-]+){4}\s*$';
$$;

create table public.actp_schedules (
  name text primary key
    check (name ~ '^[a-z0-9][a-z0-9_.:-]{0,62}$'),
  cron_expr text not null check (public.actp_cron_is_valid(cron_expr)),
  command text not null check (length(btrim(command)) between 1 and 10000),
  description text not null default '',
  -- Critical schedules keep running in incident mode (PRD §4.10); the others are suspended.
  critical boolean not null default false,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.actp_schedules is
  'The one list of periodic SQL jobs: mirrored into cron.job where pg_cron exists, run by actp''s local scheduler where it does not.';

create trigger tg_actp_schedules__touch
  before update on public.actp_schedules
  for each row execute function public.actp_touch_updated_at();

-- Runs made by the local executor (pg_cron keeps its own in cron.job_run_details). The unique key is
-- the claim: two runner processes can race for a slot and exactly one insert wins.
create table public.actp_schedule_runs (
  id bigint generated always as identity primary key,
  schedule_name text not null references public.actp_schedules (name) on delete cascade,
  scheduled_for timestamptz not null,
  executor text not null check (executor in ('local', 'pg_cron')),
  runner_id text,
  status text not null check (status in ('running', 'succeeded', 'failed', 'skipped', 'missed')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  error text,
  unique (schedule_name, scheduled_for)
);
create index actp_schedule_runs_time_idx on public.actp_schedule_runs (started_at);

-- Which executor is live: pg_cron when its schema exists, else the most recent local runner tick.
create table public.actp_scheduler_executors (
  executor_id text primary key check (length(executor_id) between 1 and 200),
  kind text not null check (kind in ('local')),
  host text,
  pid int,
  started_at timestamptz not null default now(),
  last_tick_at timestamptz not null default now()
);

create or replace function public.actp_pg_cron_active()
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron');
$$;

-- What pg_cron executes for each schedule: skip (with schedule.skipped) a non-critical schedule in
-- incident mode, otherwise emit schedule.fired and run the command in this transaction, so a
-- failing command leaves its error in cron.job_run_details and no fired event behind.
create or replace function public.actp_schedules_run(p_name text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  s public.actp_schedules;
  slot timestamptz := date_trunc('minute', now());
begin
  select * into s from public.actp_schedules where name = p_name;
  if not found or not s.enabled then
    return;
  end if;
  if public.actp_platform_mode() = 'incident' and not s.critical then
    perform public.actp_emit('schedule.skipped', jsonb_build_object(
      'schedule', s.name, 'scheduled_for', slot, 'reason', 'incident_mode', 'executor', 'pg_cron'));
    return;
  end if;
  perform public.actp_emit('schedule.fired', jsonb_build_object(
    'schedule', s.name, 'scheduled_for', slot, 'executor', 'pg_cron',
    'lag_ms', floor(extract(epoch from (clock_timestamp() - slot)) * 1000)::bigint));
  execute s.command;
end
$$;
revoke all on function public.actp_schedules_run(text) from public;
grant execute on function public.actp_schedules_run(text) to service_role;

-- Mirrors enabled actp_schedules rows into cron.job (by name) and unschedules the cron jobs it
-- made (recognised by their wrapper command) whose row is gone or disabled; other cron jobs of the
-- project are left alone. Dynamic SQL because the cron schema exists only where
-- pg_cron does, and this function must compile everywhere.
create or replace function public.actp_schedules_sync()
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  s record;
  n int := 0;
  stale text;
  -- Through a variable, so static checkers (plpgsql_check in `supabase db lint`) do not resolve
  -- the cron schema on databases where pg_cron is absent.
  v_cron constant text := 'cron';
begin
  if not public.actp_pg_cron_active() then
    return 0;
  end if;
  for s in select name, cron_expr from public.actp_schedules where enabled loop
    -- pg_cron runs the wrapper, not the raw command, so both executors emit the same events and
    -- honour incident mode the same way.
    execute format('select %I.schedule($1, $2, $3)', v_cron)
      using s.name, s.cron_expr, format('select public.actp_schedules_run(%L)', s.name);
    n := n + 1;
  end loop;
  for stale in
    execute format($q$
      select j.jobname from %I.job j
      where j.jobname is not null
        and j.command like 'select public.actp_schedules_run(%%'
        and not exists (select 1 from public.actp_schedules s where s.name = j.jobname and s.enabled)
    $q$, v_cron)
  loop
    execute format('select %I.unschedule($1)', v_cron) using stale;
  end loop;
  return n;
end
$$;
revoke all on function public.actp_schedules_sync() from public;
grant execute on function public.actp_schedules_sync() to service_role;

create or replace function public.actp_schedules_after_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform public.actp_schedules_sync();
  return null;
end
$$;

create trigger tg_actp_schedules__sync_cron
  after insert or update or delete on public.actp_schedules
  for each statement execute function public.actp_schedules_after_change();

-- The platform's operating mode (PRD §4.10), one row: every component reads it from here, so
-- declaring an incident is one update. Non-critical schedules are suspended outside 'normal'/'degraded'.
create table public.actp_platform_state (
  id boolean primary key default true check (id),
  mode text not null default 'normal' check (mode in ('normal', 'degraded', 'incident')),
  reason text,
  changed_at timestamptz not null default now()
);
insert into public.actp_platform_state (id, mode) values (true, 'normal') on conflict (id) do nothing;

create or replace function public.actp_platform_mode()
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce((select mode from public.actp_platform_state where id), 'normal');
$$;

-- Housekeeping: the local executor's run log is kept for a week.
insert into public.actp_schedules (name, cron_expr, command, description, critical)
values (
  'actp:scheduler:prune-runs',
  '17 3 * * *',
  $cmd$delete from public.actp_schedule_runs where started_at < now() - interval '7 days'$cmd$,
  'Deletes local scheduler run records older than seven days.',
  false
)
on conflict (name) do nothing;

-- Row level security, the same for every actp table (every later migration calls this too):
-- service_role does everything; authenticated reads what a dashboard shows ('read') or nothing
-- ('none'); anon nothing. Writes are service-role-only at the privilege level as well, whatever the
-- default privileges grant. (Supabase's service_role bypasses RLS anyway; the policy makes the
-- intent explicit and keeps it true on targets where it does not.)
create or replace function public.actp_secure_table(p_table text, p_authenticated text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_authenticated not in ('read', 'none') then
    raise exception using errcode = 'P0001', message = format('actp.invalid_access: %s', p_authenticated);
  end if;
  execute format('alter table public.%I enable row level security', p_table);
  execute format('create policy %I on public.%I for all to service_role using (true) with check (true)', p_table || '_service', p_table);
  execute format('revoke all on public.%I from anon', p_table);
  execute format('grant all on public.%I to service_role', p_table);
  if p_authenticated = 'read' then
    execute format('create policy %I on public.%I for select to authenticated using (true)', p_table || '_read', p_table);
    execute format('revoke insert, update, delete, truncate on public.%I from authenticated', p_table);
    execute format('grant select on public.%I to authenticated', p_table);
  else
    execute format('revoke all on public.%I from authenticated', p_table);
  end if;
end
$$;
revoke all on function public.actp_secure_table(text, text) from public;

select public.actp_secure_table('actp_event_types', 'read');
select public.actp_secure_table('actp_events', 'read');
select public.actp_secure_table('actp_schedules', 'read');
select public.actp_secure_table('actp_schedule_runs', 'read');
select public.actp_secure_table('actp_platform_state', 'read');
select public.actp_secure_table('actp_scheduler_executors', 'none');

revoke execute on function public.actp_emit(text, jsonb, uuid, text, text, text) from public, anon, authenticated;
grant execute on function public.actp_emit(text, jsonb, uuid, text, text, text) to service_role;
