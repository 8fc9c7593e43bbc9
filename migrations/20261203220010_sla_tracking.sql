-- SLA tracking (PRD §4.9), measured by the database itself: a trigger on actp_events keeps one
-- measurement row per job, a schedule finds jobs still running past their targets, each breach is
-- recorded once (unique per job and metric) with one sla.breach event, and error budgets are read
-- the SRE way (burn rate = bad ratio / (1 - objective) over paired windows).
--
-- A job is "bad" for its error budget when it failed for good or breached one of its targets; it is
-- counted at the moment it became bad (an in-flight breach counts before the job ends) or, if good,
-- when it closed. Cancelled jobs are neither good nor bad.

-- Targets ------------------------------------------------------------------------------------------

create table public.actp_sla_targets (
  -- '*' is the default for job types without a row of their own.
  job_type text primary key check (job_type = '*' or job_type ~ '^[a-z][a-z0-9_.:-]{0,199}$'),
  time_to_first_update_ms int not null check (time_to_first_update_ms between 1 and 604800000),
  time_to_completion_ms int not null check (time_to_completion_ms between 1 and 604800000),
  -- Fraction of jobs that must be good over objective_window_days (0.99 = 99%).
  success_objective numeric(6, 5) not null default 0.99 check (success_objective > 0 and success_objective < 1),
  objective_window_days int not null default 30 check (objective_window_days between 1 and 365),
  -- No burn alert fires on fewer bad jobs than this in the long window (one failure of two is not a page).
  min_bad_jobs int not null default 5 check (min_bad_jobs between 1 and 1000000),
  -- Jobs per hour the operator expects; with none set, the last 7 days' rate is the expectation.
  expected_jobs_per_hour numeric check (expected_jobs_per_hour is null or expected_jobs_per_hour >= 0),
  updated_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.actp_sla_targets is
  'PRD §4.9: SLA targets and success objective per job type; the row ''*'' applies to job types without their own.';

create trigger tg_actp_sla_targets__touch
  before update on public.actp_sla_targets
  for each row execute function public.actp_touch_updated_at();

insert into public.actp_sla_targets (job_type, time_to_first_update_ms, time_to_completion_ms, success_objective) values
  ('health_check', 5000, 30000, 0.99),
  ('revenue_overview', 5000, 60000, 0.99),
  ('list_projects', 5000, 30000, 0.99),
  ('research_synthesis', 5000, 120000, 0.99),
  ('content_generation', 5000, 180000, 0.99),
  ('*', 5000, 60000, 0.99)
on conflict (job_type) do nothing;

-- Measurements -------------------------------------------------------------------------------------

create table public.actp_sla_measurements (
  -- One row per job: the job id is the key (the PRD's id column stays, unindexed, for reference).
  job_id uuid primary key,
  id uuid not null default gen_random_uuid(),
  job_type text not null,
  agent_slug text,
  received_at timestamptz not null,
  dispatched_at timestamptz,
  first_update_at timestamptz,
  closed_at timestamptz,
  time_to_dispatch_ms int,
  -- job.received -> first job.progress (a job that ends without one: -> its end).
  time_to_first_update_ms int,
  -- job.received -> job.completed (or the final job.failed).
  time_to_completion_ms int,
  tool_rounds int not null default 0 check (tool_rounds >= 0),
  outcome text not null default 'running' check (outcome in ('running', 'succeeded', 'failed', 'cancelled')),
  sla_breached boolean not null default false,
  -- When the job counts for the error budget: when it became bad, or when it closed good.
  counted_at timestamptz,
  bad boolean not null default false,
  created_at timestamptz not null default now(),
  check ((outcome = 'running') = (closed_at is null))
) with (fillfactor = 80);
comment on table public.actp_sla_measurements is
  'PRD §4.9: one row per job, written by triggers on actp_events (job.received, job.dispatched, first job.progress, the final job.completed / job.failed / job.cancelled).';

-- Two small indexes besides the key, none on what the dispatch and progress updates change (so
-- those are HOT updates), and only the key and the running index written at job.received: the
-- in-flight sweep reads running rows; the budget windows and the report read by counted_at.
create index actp_sla_measurements_running_idx on public.actp_sla_measurements (received_at) where outcome = 'running';
create index actp_sla_measurements_counted_idx on public.actp_sla_measurements (counted_at) include (job_type, bad) where counted_at is not null;

-- Error-budget counts per job type and hour, rolled up by the sweep once an hour is older than the
-- exact window (6 h), so a 3-day or 30-day window reads at most 720 rows a type, not every job.
create table public.actp_sla_hourly (
  job_type text not null,
  hour timestamptz not null,
  total int not null check (total >= 0),
  bad int not null check (bad >= 0 and bad <= total),
  primary key (job_type, hour)
);
create index actp_sla_hourly_hour_idx on public.actp_sla_hourly (hour);

-- One row per job and metric: a breach is never reported twice, whether the sweep found it while the
-- job ran or the job's end did.
create table public.actp_sla_breaches (
  id bigint generated always as identity primary key,
  job_id uuid not null,
  job_type text not null,
  metric text not null check (metric in ('time_to_first_update_ms', 'time_to_completion_ms')),
  target_ms int not null check (target_ms > 0),
  actual_ms bigint not null check (actual_ms >= 0),
  -- The moment the target passed (received_at + target), whenever it was detected.
  breached_at timestamptz not null,
  detected_at timestamptz not null default now(),
  in_flight boolean not null,
  unique (job_id, metric)
);
create index actp_sla_breaches_time_idx on public.actp_sla_breaches (breached_at);

create trigger tg_actp_sla_breaches__append_only
  before update or delete on public.actp_sla_breaches
  for each row execute function public.actp_reject_mutation();

-- The effective target of a job type: its row, else '*'.
create or replace function public.actp_sla_target(p_job_type text)
returns public.actp_sla_targets
language sql
stable
set search_path = ''
as $$
  select t.* from public.actp_sla_targets t
   where t.job_type in (p_job_type, '*')
   order by (t.job_type = '*') limit 1;
$$;

create or replace function public.actp_sla_ms(p interval)
returns int
language sql
immutable
set search_path = ''
as $$ select least(greatest(round(extract(epoch from p) * 1000), 0), 2147483647)::int $$;

-- Records a breach once and emits sla.breach; returns whether it was new.
create or replace function public.actp_sla_record_breach(
  p_job_id uuid, p_job_type text, p_agent text, p_metric text, p_target_ms int, p_actual_ms bigint,
  p_breached_at timestamptz, p_in_flight boolean
)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into public.actp_sla_breaches (job_id, job_type, metric, target_ms, actual_ms, breached_at, in_flight)
  values (p_job_id, p_job_type, p_metric, p_target_ms, p_actual_ms, p_breached_at, p_in_flight)
  on conflict (job_id, metric) do nothing
  returning id into v_id;
  if v_id is null then
    return false;
  end if;
  perform public.actp_emit('sla.breach',
    jsonb_build_object('job_type', p_job_type, 'metric', p_metric, 'target_ms', p_target_ms,
                       'actual_ms', p_actual_ms, 'in_flight', p_in_flight, 'breach_id', v_id),
    p_job_id, null, p_agent, null);
  return true;
end
$$;

-- Closes a measurement: times, tool rounds (tool.call_started events of the job, counted once here
-- rather than by a trigger on every tool call), breaches, budget status. Everything inline: a SQL
-- function called from plpgsql is planned on every call, and this runs on the event insert path.
create or replace function public.actp_sla_close(p_job_id uuid, p_outcome text, p_at timestamptz)
returns void
language plpgsql
set search_path = ''
as $$
declare
  m public.actp_sla_measurements;
  v_ttfu_target int;
  v_ttc_target int;
  v_ttfu int;
  v_ttc int;
  v_rounds int;
  v_breached boolean;
begin
  select * into m from public.actp_sla_measurements where job_id = p_job_id and outcome = 'running' for update;
  if not found then
    return;
  end if;
  select t.time_to_first_update_ms, t.time_to_completion_ms into v_ttfu_target, v_ttc_target
    from public.actp_sla_targets t where t.job_type in (m.job_type, '*') order by (t.job_type = '*') limit 1;
  v_ttc := least(greatest(round(extract(epoch from (p_at - m.received_at)) * 1000), 0), 2147483647)::int;
  v_ttfu := coalesce(m.time_to_first_update_ms, v_ttc);
  select count(*) into v_rounds from public.actp_events e
   where e.job_id = p_job_id and e.type = 'tool.call_started';

  v_breached := m.sla_breached;
  if p_outcome <> 'cancelled' then
    if v_ttfu > v_ttfu_target then
      perform public.actp_sla_record_breach(p_job_id, m.job_type, m.agent_slug, 'time_to_first_update_ms',
        v_ttfu_target, v_ttfu, m.received_at + v_ttfu_target * interval '1 ms', false);
      v_breached := true;
    end if;
    if p_outcome = 'succeeded' and v_ttc > v_ttc_target then
      perform public.actp_sla_record_breach(p_job_id, m.job_type, m.agent_slug, 'time_to_completion_ms',
        v_ttc_target, v_ttc, m.received_at + v_ttc_target * interval '1 ms', false);
      v_breached := true;
    end if;
  end if;

  update public.actp_sla_measurements
     set closed_at = p_at,
         outcome = p_outcome,
         first_update_at = coalesce(first_update_at, case when p_outcome = 'succeeded' then p_at end),
         time_to_first_update_ms = case when p_outcome = 'succeeded' then v_ttfu else time_to_first_update_ms end,
         time_to_completion_ms = case when p_outcome = 'succeeded' then v_ttc end,
         tool_rounds = v_rounds,
         sla_breached = v_breached,
         bad = case when p_outcome = 'cancelled' then bad
                    else p_outcome = 'failed' or v_breached end,
         -- A job already counted bad (an in-flight breach) keeps that moment; a cancelled job never counts.
         counted_at = case when p_outcome = 'cancelled' then case when bad then counted_at end
                           else coalesce(counted_at, p_at) end
   where job_id = p_job_id;
end
$$;

-- The trigger: narrowly filtered (WHEN on the type), one indexed write per lifecycle event, nothing
-- for every other event type. Not a definer: only the service role writes events.
create or replace function public.actp_sla_on_event()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.job_id is null then
    return null;
  end if;
  case new.type
    when 'job.received' then
      insert into public.actp_sla_measurements (job_id, job_type, agent_slug, received_at)
      values (new.job_id, coalesce(nullif(new.payload ->> 'job_type', ''), new.agent_slug, 'unknown'), new.agent_slug, new.created_at)
      on conflict (job_id) do nothing;
    when 'job.dispatched' then
      update public.actp_sla_measurements
         set dispatched_at = new.created_at,
             time_to_dispatch_ms = least(greatest(round(extract(epoch from (new.created_at - received_at)) * 1000), 0), 2147483647)::int
       where job_id = new.job_id and dispatched_at is null;
    when 'job.progress' then
      update public.actp_sla_measurements
         set first_update_at = new.created_at,
             time_to_first_update_ms = least(greatest(round(extract(epoch from (new.created_at - received_at)) * 1000), 0), 2147483647)::int
       where job_id = new.job_id and first_update_at is null;
    when 'job.completed' then
      perform public.actp_sla_close(new.job_id, 'succeeded', new.created_at);
    when 'job.failed' then
      if coalesce((new.payload ->> 'will_retry')::boolean, false) = false then
        perform public.actp_sla_close(new.job_id, 'failed', new.created_at);
      end if;
    when 'job.cancelled' then
      perform public.actp_sla_close(new.job_id, 'cancelled', new.created_at);
    else
      null;
  end case;
  return null;
end
$$;

create trigger tg_actp_events__sla
  after insert on public.actp_events
  for each row
  when (new.type in ('job.received', 'job.dispatched', 'job.progress', 'job.completed', 'job.failed', 'job.cancelled'))
  execute function public.actp_sla_on_event();

-- In-flight sweep: a job still running past a target breaches when the target passes, not when it
-- finally ends. Run every minute; each breach is recorded and evented once.
create or replace function public.actp_sla_sweep(p_now timestamptz default now())
returns int
language plpgsql
set search_path = ''
as $$
declare
  r record;
  n int := 0;
begin
  for r in
    select m.job_id, m.job_type, m.agent_slug, m.received_at, m.first_update_at, m.bad,
           t.time_to_first_update_ms as ttfu_target, t.time_to_completion_ms as ttc_target
      from public.actp_sla_measurements m
      cross join lateral public.actp_sla_target(m.job_type) t
     where m.outcome = 'running'
       and m.received_at < p_now - least(t.time_to_first_update_ms, t.time_to_completion_ms) * interval '1 ms'
  loop
    if r.first_update_at is null and p_now - r.received_at > r.ttfu_target * interval '1 ms' then
      if public.actp_sla_record_breach(r.job_id, r.job_type, r.agent_slug, 'time_to_first_update_ms', r.ttfu_target,
           public.actp_sla_ms(p_now - r.received_at), r.received_at + r.ttfu_target * interval '1 ms', true) then
        n := n + 1;
      end if;
    end if;
    if p_now - r.received_at > r.ttc_target * interval '1 ms' then
      if public.actp_sla_record_breach(r.job_id, r.job_type, r.agent_slug, 'time_to_completion_ms', r.ttc_target,
           public.actp_sla_ms(p_now - r.received_at), r.received_at + r.ttc_target * interval '1 ms', true) then
        n := n + 1;
      end if;
    end if;
    update public.actp_sla_measurements
       set sla_breached = true, bad = true, counted_at = coalesce(counted_at, p_now)
     where job_id = r.job_id and not bad
       and exists (select 1 from public.actp_sla_breaches b where b.job_id = r.job_id);
  end loop;
  perform public.actp_sla_rollup(p_now);
  return n;
end
$$;

-- Rolls hours older than the exact window (6 h before p_now, to the hour) into actp_sla_hourly,
-- from the last rolled hour on (and the hour before it again, in case a late row landed there).
create or replace function public.actp_sla_rollup(p_now timestamptz default now())
returns int
language plpgsql
set search_path = ''
as $$
declare
  v_until timestamptz := date_trunc('hour', p_now - interval '6 hours');
  v_from timestamptz;
  n int;
begin
  select coalesce(max(h.hour) - interval '1 hour', v_until - interval '31 days') into v_from from public.actp_sla_hourly h;
  insert into public.actp_sla_hourly (job_type, hour, total, bad)
  select m.job_type, date_trunc('hour', m.counted_at), count(*), count(*) filter (where m.bad)
    from public.actp_sla_measurements m
   where m.counted_at >= v_from and m.counted_at < v_until
   group by 1, 2
  on conflict (job_type, hour) do update set total = excluded.total, bad = excluded.bad;
  get diagnostics n = row_count;
  return n;
end
$$;

insert into public.actp_schedules (name, cron_expr, command, description, critical)
values (
  'actp:sla:sweep',
  '* * * * *',
  'select public.actp_sla_sweep()',
  'Finds jobs still running past their SLA targets and records each breach once (PRD §4.9).',
  true
)
on conflict (name) do nothing;

-- Error budgets -------------------------------------------------------------------------------------

-- The SRE workbook's multiwindow, multi-burn-rate alerts: page when both the 1 h and 5 min windows
-- burn at 14.4x (2% of a 30-day budget in an hour) or both the 6 h and 30 min windows at 6x (5% in
-- 6 h); ticket when both the 3 d and 6 h windows burn at 1x. The short window makes an alert stop
-- soon after the burning does.
create or replace function public.actp_sla_burn_windows()
returns table (name text, long_window interval, short_window interval, burn_threshold numeric, severity text)
language sql
immutable
set search_path = ''
as $$
  values ('page_fast', interval '1 hour', interval '5 minutes', 14.4::numeric, 'page'),
         ('page_slow', interval '6 hours', interval '30 minutes', 6::numeric, 'page'),
         ('ticket', interval '3 days', interval '6 hours', 1::numeric, 'ticket')
$$;

-- Counts per job type over the exact recent windows (up to 6 h, straight from the measurements by
-- counted_at), the part the detector pass and page alerts need: cheap whatever the history.
create or replace function public.actp_sla_recent_counts(p_now timestamptz)
returns table (job_type text, total_5m bigint, bad_5m bigint, total_30m bigint, bad_30m bigint,
               total_1h bigint, bad_1h bigint, total_6h bigint, bad_6h bigint,
               total_exact bigint, bad_exact bigint)
language sql
stable
set search_path = ''
as $$
  -- total_exact / bad_exact: since the hour the rollup stops at (date_trunc('hour', p_now - 6 h)).
  select m.job_type,
         count(*) filter (where m.counted_at > p_now - interval '5 minutes'),
         count(*) filter (where m.bad and m.counted_at > p_now - interval '5 minutes'),
         count(*) filter (where m.counted_at > p_now - interval '30 minutes'),
         count(*) filter (where m.bad and m.counted_at > p_now - interval '30 minutes'),
         count(*) filter (where m.counted_at > p_now - interval '1 hour'),
         count(*) filter (where m.bad and m.counted_at > p_now - interval '1 hour'),
         count(*) filter (where m.counted_at > p_now - interval '6 hours'),
         count(*) filter (where m.bad and m.counted_at > p_now - interval '6 hours'),
         count(*),
         count(*) filter (where m.bad)
    from public.actp_sla_measurements m
   where m.counted_at >= date_trunc('hour', p_now - interval '6 hours') and m.counted_at <= p_now
   group by m.job_type;
$$;

-- One row per job type (with a target of its own, or traffic in its objective window): counts and
-- burn rates for every window, the alert verdict, the remaining error budget and when it runs out
-- at the current 6 h burn. status: page | ticket | ok | missing_data (no jobs in the last hour where
-- at least 3 were expected: silence is not health) | no_traffic. Windows up to 6 h are exact; the
-- 3-day and objective windows add hourly rollups for the hours before (exact to the hour).
-- p_long = false skips those (the detector pass needs the page-level windows only).
create or replace function public.actp_sla_budget_status(p_now timestamptz default now(), p_long boolean default true)
returns table (
  job_type text,
  success_objective numeric,
  objective_window_days int,
  min_bad_jobs int,
  total_5m bigint, bad_5m bigint, total_30m bigint, bad_30m bigint,
  total_1h bigint, bad_1h bigint, total_6h bigint, bad_6h bigint,
  total_3d bigint, bad_3d bigint, total_budget_window bigint, bad_budget_window bigint,
  burn_5m numeric, burn_30m numeric, burn_1h numeric, burn_6h numeric, burn_3d numeric,
  page boolean, ticket boolean,
  expected_per_hour numeric,
  missing_data boolean,
  budget_remaining numeric,
  exhaustion_at timestamptz,
  status text
)
language sql
stable
set search_path = ''
as $$
  with recent as (
    select * from public.actp_sla_recent_counts(p_now)
  ), hourly as (
    -- Hours before the exact part: 3 days, the objective window (at most 365 days), and the 7 days
    -- before the last hour that set the expected traffic.
    select h.job_type,
           sum(h.total) filter (where h.hour >= p_now - interval '3 days') as total_3d,
           sum(h.bad) filter (where h.hour >= p_now - interval '3 days') as bad_3d,
           sum(h.total) filter (where h.hour >= p_now - interval '7 days') as total_7d
      from public.actp_sla_hourly h
     where p_long
       and h.hour >= p_now - interval '365 days'
       and h.hour < date_trunc('hour', p_now - interval '6 hours')
     group by h.job_type
  ), types as (
    select t.job_type from public.actp_sla_targets t where t.job_type <> '*'
    union
    select r.job_type from recent r
    union
    select h.job_type from hourly h
  ), counts as (
    select ty.job_type, tg.success_objective, tg.objective_window_days, tg.min_bad_jobs, tg.expected_jobs_per_hour,
           coalesce(r.total_5m, 0) as total_5m, coalesce(r.bad_5m, 0) as bad_5m,
           coalesce(r.total_30m, 0) as total_30m, coalesce(r.bad_30m, 0) as bad_30m,
           coalesce(r.total_1h, 0) as total_1h, coalesce(r.bad_1h, 0) as bad_1h,
           coalesce(r.total_6h, 0) as total_6h, coalesce(r.bad_6h, 0) as bad_6h,
           coalesce(r.total_exact, 0) + coalesce(h.total_3d, 0) as total_3d,
           coalesce(r.bad_exact, 0) + coalesce(h.bad_3d, 0) as bad_3d,
           coalesce(r.total_exact, 0) + coalesce(w.total, 0) as total_budget_window,
           coalesce(r.bad_exact, 0) + coalesce(w.bad, 0) as bad_budget_window,
           coalesce(r.total_exact, 0) - coalesce(r.total_1h, 0) + coalesce(h.total_7d, 0) as prior_7d
      from types ty
      cross join lateral (
        select t.* from public.actp_sla_targets t where t.job_type in (ty.job_type, '*') order by (t.job_type = '*') limit 1
      ) tg
      left join recent r on r.job_type = ty.job_type
      left join hourly h on h.job_type = ty.job_type
      left join lateral (
        select sum(x.total) as total, sum(x.bad) as bad from public.actp_sla_hourly x
         where p_long and x.job_type = ty.job_type
           and x.hour >= p_now - tg.objective_window_days * interval '1 day'
           and x.hour < date_trunc('hour', p_now - interval '6 hours')
      ) w on true
  ), burns as (
    select c.*,
           case when c.total_5m > 0 then (c.bad_5m::numeric / c.total_5m) / (1 - c.success_objective) end as burn_5m,
           case when c.total_30m > 0 then (c.bad_30m::numeric / c.total_30m) / (1 - c.success_objective) end as burn_30m,
           case when c.total_1h > 0 then (c.bad_1h::numeric / c.total_1h) / (1 - c.success_objective) end as burn_1h,
           case when c.total_6h > 0 then (c.bad_6h::numeric / c.total_6h) / (1 - c.success_objective) end as burn_6h,
           case when p_long and c.total_3d > 0 then (c.bad_3d::numeric / c.total_3d) / (1 - c.success_objective) end as burn_3d,
           coalesce(c.expected_jobs_per_hour, case when p_long then c.prior_7d::numeric / (7 * 24 - 1) end) as expected_per_hour
      from counts c
  ), verdicts as (
    select b.*,
           (b.burn_1h >= 14.4 and b.burn_5m >= 14.4 and b.bad_1h >= b.min_bad_jobs)
             or (b.burn_6h >= 6 and b.burn_30m >= 6 and b.bad_6h >= b.min_bad_jobs) as page,
           (b.burn_3d >= 1 and b.burn_6h >= 1 and b.bad_3d >= b.min_bad_jobs) as ticket,
           (b.total_1h = 0 and b.expected_per_hour >= 3) as missing_data,
           -- Fraction of the objective window's budget left: 1 untouched, 0 spent, below 0 overspent.
           case when p_long and b.total_budget_window > 0
                then 1 - b.bad_budget_window::numeric / ((1 - b.success_objective) * b.total_budget_window) end as budget_remaining
      from burns b
  )
  select v.job_type, v.success_objective, v.objective_window_days, v.min_bad_jobs,
         v.total_5m, v.bad_5m, v.total_30m, v.bad_30m, v.total_1h, v.bad_1h, v.total_6h, v.bad_6h,
         v.total_3d, v.bad_3d, v.total_budget_window, v.bad_budget_window,
         round(v.burn_5m, 3), round(v.burn_30m, 3), round(v.burn_1h, 3), round(v.burn_6h, 3), round(v.burn_3d, 3),
         coalesce(v.page, false), coalesce(v.ticket, false),
         round(v.expected_per_hour, 3),
         coalesce(v.missing_data, false),
         round(v.budget_remaining, 4),
         -- At a burn rate of 1 the whole budget lasts exactly one objective window.
         case when v.budget_remaining > 0 and v.burn_6h > 0
              then p_now + (v.budget_remaining / v.burn_6h) * v.objective_window_days * interval '1 day' end,
         case when coalesce(v.page, false) then 'page'
              when coalesce(v.missing_data, false) then 'missing_data'
              when coalesce(v.ticket, false) then 'ticket'
              when v.total_budget_window = 0 and v.total_6h = 0 then 'no_traffic'
              else 'ok' end
    from verdicts v
   order by v.job_type;
$$;

-- The report behind GET /sla/report: per job type, percentiles of each measure, success ratio and
-- breaches over the window, with the budget status beside them. Security invoker: RLS decides.
create or replace function public.actp_sla_report(p_window interval default interval '24 hours', p_now timestamptz default now())
returns jsonb
language sql
stable
set search_path = ''
as $$
  -- The jobs of the window: those that counted in it (closed, or turned bad while running) and those
  -- received in it and still running.
  with m as (
    select * from public.actp_sla_measurements m
     where m.counted_at > p_now - p_window and m.counted_at <= p_now
    union all
    select * from public.actp_sla_measurements m
     where m.outcome = 'running' and m.counted_at is null and m.received_at > p_now - p_window and m.received_at <= p_now
  ), per_type as (
    select m.job_type,
           count(*) as jobs,
           count(*) filter (where m.outcome = 'running') as running,
           count(*) filter (where m.outcome = 'succeeded') as succeeded,
           count(*) filter (where m.outcome = 'failed') as failed,
           count(*) filter (where m.outcome = 'cancelled') as cancelled,
           count(*) filter (where m.sla_breached) as breached_jobs,
           percentile_cont(array[0.5, 0.95, 0.99]) within group (order by m.time_to_first_update_ms)
             filter (where m.time_to_first_update_ms is not null) as ttfu,
           percentile_cont(array[0.5, 0.95, 0.99]) within group (order by m.time_to_completion_ms)
             filter (where m.time_to_completion_ms is not null) as ttc,
           percentile_cont(array[0.5, 0.95, 0.99]) within group (order by m.time_to_dispatch_ms)
             filter (where m.time_to_dispatch_ms is not null) as ttd,
           percentile_cont(array[0.5, 0.95, 0.99]) within group (order by m.tool_rounds)
             filter (where m.outcome <> 'running') as rounds
      from m group by m.job_type
  ), breaches as (
    select b.job_type, b.metric, count(*) as n
      from public.actp_sla_breaches b
     where b.breached_at >= p_now - p_window and b.breached_at <= p_now
     group by b.job_type, b.metric
  ), budget as (
    select * from public.actp_sla_budget_status(p_now)
  ), all_types as (
    select job_type from per_type union select job_type from budget
  )
  select jsonb_build_object(
    'window_seconds', extract(epoch from p_window)::bigint,
    'generated_at', p_now,
    'job_types', coalesce(jsonb_agg(jsonb_build_object(
      'job_type', a.job_type,
      'target', (select jsonb_build_object('time_to_first_update_ms', t.time_to_first_update_ms,
                                           'time_to_completion_ms', t.time_to_completion_ms,
                                           'success_objective', t.success_objective,
                                           'objective_window_days', t.objective_window_days,
                                           'is_default', t.job_type = '*')
                   from public.actp_sla_target(a.job_type) t),
      'jobs', coalesce(p.jobs, 0), 'running', coalesce(p.running, 0), 'succeeded', coalesce(p.succeeded, 0),
      'failed', coalesce(p.failed, 0), 'cancelled', coalesce(p.cancelled, 0),
      'success_ratio', case when coalesce(p.succeeded, 0) + coalesce(p.failed, 0) > 0
                            then round(p.succeeded::numeric / (p.succeeded + p.failed), 5) end,
      'breached_jobs', coalesce(p.breached_jobs, 0),
      'breaches', jsonb_build_object(
        'time_to_first_update_ms', coalesce((select n from breaches b where b.job_type = a.job_type and b.metric = 'time_to_first_update_ms'), 0),
        'time_to_completion_ms', coalesce((select n from breaches b where b.job_type = a.job_type and b.metric = 'time_to_completion_ms'), 0)),
      'time_to_first_update_ms', jsonb_build_object('p50', round(p.ttfu[1]), 'p95', round(p.ttfu[2]), 'p99', round(p.ttfu[3])),
      'time_to_completion_ms', jsonb_build_object('p50', round(p.ttc[1]), 'p95', round(p.ttc[2]), 'p99', round(p.ttc[3])),
      'time_to_dispatch_ms', jsonb_build_object('p50', round(p.ttd[1]), 'p95', round(p.ttd[2]), 'p99', round(p.ttd[3])),
      'tool_rounds', jsonb_build_object('p50', p.rounds[1], 'p95', p.rounds[2], 'p99', p.rounds[3]),
      -- The budget's headline at the top level too, for tables that show one row per job type.
      'status', (select b.status from budget b where b.job_type = a.job_type),
      'budget_remaining', (select b.budget_remaining from budget b where b.job_type = a.job_type),
      'burn_rate_1h', (select b.burn_1h from budget b where b.job_type = a.job_type),
      'budget', (select jsonb_build_object(
                   'status', b.status, 'burn_rates', jsonb_build_object('5m', b.burn_5m, '30m', b.burn_30m, '1h', b.burn_1h, '6h', b.burn_6h, '3d', b.burn_3d),
                   'page', b.page, 'ticket', b.ticket, 'missing_data', b.missing_data,
                   'bad_1h', b.bad_1h, 'total_1h', b.total_1h,
                   'remaining', b.budget_remaining, 'exhaustion_at', b.exhaustion_at,
                   'expected_per_hour', b.expected_per_hour)
                   from budget b where b.job_type = a.job_type)
    ) order by a.job_type), '[]'::jsonb))
  from all_types a
  left join per_type p on p.job_type = a.job_type;
$$;

-- One job's measurement, its effective target and its breaches (GET /sla/jobs/:id).
create or replace function public.actp_sla_job(p_job_id uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select to_jsonb(m) || jsonb_build_object(
           'target', (select to_jsonb(t) - 'created_at' - 'updated_at' from public.actp_sla_target(m.job_type) t),
           'breaches', coalesce((select jsonb_agg(to_jsonb(b) - 'job_id' order by b.breached_at)
                                   from public.actp_sla_breaches b where b.job_id = m.job_id), '[]'::jsonb))
    from public.actp_sla_measurements m where m.job_id = p_job_id;
$$;

-- Targets are written through one function (service role): validation beyond the column checks and
-- the actor, in one statement.
create or replace function public.actp_sla_target_upsert(p_target jsonb, p_actor text)
returns public.actp_sla_targets
language plpgsql
set search_path = ''
as $$
declare
  v public.actp_sla_targets;
begin
  insert into public.actp_sla_targets (job_type, time_to_first_update_ms, time_to_completion_ms, success_objective,
                                      objective_window_days, min_bad_jobs, expected_jobs_per_hour, updated_by)
  values (p_target ->> 'job_type', (p_target ->> 'time_to_first_update_ms')::int, (p_target ->> 'time_to_completion_ms')::int,
          coalesce((p_target ->> 'success_objective')::numeric, 0.99), coalesce((p_target ->> 'objective_window_days')::int, 30),
          coalesce((p_target ->> 'min_bad_jobs')::int, 5), (p_target ->> 'expected_jobs_per_hour')::numeric, p_actor)
  on conflict (job_type) do update
     set time_to_first_update_ms = excluded.time_to_first_update_ms,
         time_to_completion_ms = excluded.time_to_completion_ms,
         success_objective = excluded.success_objective,
         objective_window_days = excluded.objective_window_days,
         min_bad_jobs = excluded.min_bad_jobs,
         expected_jobs_per_hour = excluded.expected_jobs_per_hour,
         updated_by = excluded.updated_by
  returning * into v;
  return v;
end
$$;

select public.actp_secure_table('actp_sla_targets', 'read');
select public.actp_secure_table('actp_sla_measurements', 'read');
select public.actp_secure_table('actp_sla_breaches', 'read');
select public.actp_secure_table('actp_sla_hourly', 'read');

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.actp_sla_record_breach(uuid, text, text, text, int, bigint, timestamptz, boolean)',
    'public.actp_sla_close(uuid, text, timestamptz)',
    'public.actp_sla_on_event()',
    'public.actp_sla_sweep(timestamptz)',
    'public.actp_sla_rollup(timestamptz)',
    'public.actp_sla_target_upsert(jsonb, text)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
  -- Readers: security invoker, so RLS on the tables decides what they see.
  foreach f in array array[
    'public.actp_sla_target(text)',
    'public.actp_sla_ms(interval)',
    'public.actp_sla_burn_windows()',
    'public.actp_sla_recent_counts(timestamptz)',
    'public.actp_sla_budget_status(timestamptz, boolean)',
    'public.actp_sla_report(interval, timestamptz)',
    'public.actp_sla_job(uuid)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role, authenticated', f);
  end loop;
end
$$;
