-- Incident mode (PRD §4.10) as a state machine in SQL. The mode row of the foundation
-- (actp_platform_state, read through actp_platform_mode()) stays the one switch every component
-- reads; this migration adds what decides it:
--
--   detectors   plpgsql functions, each measuring one signal (value + evidence), with a fire
--               threshold and a lower clear threshold (per-detector hysteresis: once firing, a
--               detector stays firing until its value drops below the clear threshold);
--   the tick    actp_incident_tick(), every minute from actp_schedules (critical): one firing
--               detector -> degraded; two or more, or a page-level SLA burn -> incident, at once.
--               Leaving needs every detector clear for cooldown_seconds, and steps down one level
--               per cooldown (incident -> degraded -> normal), so a flapping signal holds the mode.
--   the log     actp_incident_log (the PRD's columns + who, mode, acknowledgement), every transition
--               with its evidence in actp_incident_transitions (append-only).
--   effects     from the mode row alone: the policy check halves budgets (reads the row); a job that
--               fails in incident mode retries at most once (actp_retry_allowed); non-critical
--               schedules are suspended (cron.job inactive where pg_cron runs them, the local runner
--               and actp_schedules_run skip them with schedule.skipped) and resumed on leaving; each
--               transition is an alert in the outbox (Telegram).
--
-- Every pass and every manual action locks the mode row first, so two passes at once (two cron
-- hosts, a pass racing an operator) serialize and never transition twice.

-- The mode row, extended ------------------------------------------------------------------------------

alter table public.actp_platform_state
  add column incident_id uuid,
  -- Since when every detector has been clear (null while any fires): the cooldown clock.
  add column calm_since timestamptz,
  -- Declared by hand: the detectors may escalate it but never step it down; an operator resolves it.
  add column manual boolean not null default false,
  add column changed_by text,
  add column cooldown_seconds int not null default 600 check (cooldown_seconds between 0 and 86400),
  -- An open, unacknowledged incident is re-alerted this often; acknowledging silences it.
  add column reminder_seconds int not null default 1800 check (reminder_seconds between 60 and 86400),
  add column last_tick_at timestamptz;

create or replace function public.actp_mode_level(p_mode text)
returns int
language sql
immutable
set search_path = ''
as $$ select case p_mode when 'incident' then 2 when 'degraded' then 1 else 0 end $$;

create or replace function public.actp_mode_of_level(p_level int)
returns text
language sql
immutable
set search_path = ''
as $$ select case when p_level >= 2 then 'incident' when p_level = 1 then 'degraded' else 'normal' end $$;

-- Incident log ----------------------------------------------------------------------------------------

create table public.actp_incident_log (
  id uuid primary key default gen_random_uuid(),
  declared_at timestamptz not null default now(),
  trigger_reason text not null check (length(trigger_reason) between 1 and 1000),
  trigger_data jsonb not null default '{}'::jsonb check (jsonb_typeof(trigger_data) = 'object'),
  resolved_at timestamptz,
  resolution_note text check (resolution_note is null or length(resolution_note) between 1 and 2000),
  -- Beyond the PRD: where it came from, how bad it got, who did what.
  source text not null check (source in ('detector', 'manual')),
  mode text not null check (mode in ('degraded', 'incident')),
  peak_mode text not null check (peak_mode in ('degraded', 'incident')),
  declared_by text not null,
  declare_note text check (declare_note is null or length(declare_note) between 1 and 2000),
  acknowledged_at timestamptz,
  acknowledged_by text,
  acknowledge_note text check (acknowledge_note is null or length(acknowledge_note) between 1 and 2000),
  resolved_by text,
  last_alert_at timestamptz,
  check ((resolved_at is null) = (resolved_by is null)),
  check ((acknowledged_at is null) = (acknowledged_by is null)),
  check (resolved_at is null or resolved_at >= declared_at)
);
comment on table public.actp_incident_log is
  'PRD §4.10: one row per incident (from leaving normal to returning to it), with its trigger, acknowledgement and resolution.';
-- At most one open incident.
create unique index actp_incident_log_one_open_idx on public.actp_incident_log ((true)) where resolved_at is null;
create index actp_incident_log_declared_idx on public.actp_incident_log (declared_at desc);

create table public.actp_incident_transitions (
  id bigint generated always as identity primary key,
  incident_id uuid references public.actp_incident_log (id),
  from_mode text not null check (from_mode in ('normal', 'degraded', 'incident')),
  to_mode text not null check (to_mode in ('normal', 'degraded', 'incident')),
  actor text not null,
  reason text not null,
  -- Every detector's reading at the moment of the transition.
  evidence jsonb not null default '{}'::jsonb,
  at timestamptz not null default now(),
  check (from_mode <> to_mode)
);
create index actp_incident_transitions_incident_idx on public.actp_incident_transitions (incident_id, at);
create index actp_incident_transitions_time_idx on public.actp_incident_transitions (at desc);

create trigger tg_actp_incident_transitions__append_only
  before update or delete on public.actp_incident_transitions
  for each row execute function public.actp_reject_mutation();

-- Detectors -------------------------------------------------------------------------------------------

create table public.actp_incident_detectors (
  name text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  description text not null,
  enabled boolean not null default true,
  -- Fires when value > fire_above; once firing, clears only when value <= clear_at_most (lower).
  fire_above numeric not null,
  clear_at_most numeric not null,
  -- Firing this detector alone puts the platform in incident mode (a page-level SLA burn).
  forces_incident boolean not null default false,
  params jsonb not null default '{}'::jsonb check (jsonb_typeof(params) = 'object'),
  updated_at timestamptz not null default now(),
  check (clear_at_most <= fire_above)
);

create trigger tg_actp_incident_detectors__touch
  before update on public.actp_incident_detectors
  for each row execute function public.actp_touch_updated_at();

create table public.actp_incident_detector_state (
  name text primary key references public.actp_incident_detectors (name) on delete cascade,
  firing boolean not null default false,
  value numeric,
  evidence jsonb not null default '{}'::jsonb,
  firing_since timestamptz,
  evaluated_at timestamptz
);

insert into public.actp_incident_detectors (name, description, fire_above, clear_at_most, forces_incident, params) values
  ('error_rate', 'Share of settled job attempts that failed over the window (PRD: > 20% over 5 minutes).',
   0.20, 0.10, false, '{"window_minutes": 5, "min_attempts": 10}'),
  ('spend_spike', 'Spend in the last hour over the rolling hourly average of the baseline (PRD: > 2x within 1 hour).',
   2.0, 1.5, false, '{"baseline_hours": 24, "min_spend_usd": 1}'),
  ('heartbeat_failures', 'Workers and services whose heartbeats failed in the window (PRD: > 3).',
   3, 1, false, '{"window_minutes": 10, "scheduler_stale_seconds": 180}'),
  ('dlq_growth', 'Jobs dead-lettered in the window.',
   10, 3, false, '{"window_minutes": 15}'),
  ('open_circuits', 'Tool circuit breakers currently open or probing.',
   1, 0, false, '{}'),
  ('sla_page_burn', 'Job types burning their error budget at a page-level rate (SRE multiwindow burn alerts).',
   0, 0, true, '{}')
on conflict (name) do nothing;

insert into public.actp_incident_detector_state (name)
select name from public.actp_incident_detectors
on conflict (name) do nothing;

-- Each detector returns its value (null: not enough data to judge, which never fires) and evidence.

create or replace function public.actp_detect_error_rate(p_now timestamptz, p_params jsonb)
returns table (value numeric, evidence jsonb)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_window interval := coalesce((p_params ->> 'window_minutes')::int, 5) * interval '1 minute';
  v_min int := coalesce((p_params ->> 'min_attempts')::int, 10);
  v_failed bigint;
  v_completed bigint;
begin
  -- Two index range scans on (type, created_at): cheap however large the event log is.
  select count(*) into v_failed from public.actp_events e
   where e.type = 'job.failed' and e.created_at > p_now - v_window and e.created_at <= p_now;
  select count(*) into v_completed from public.actp_events e
   where e.type = 'job.completed' and e.created_at > p_now - v_window and e.created_at <= p_now;
  return query select
    case when v_failed + v_completed >= v_min then round(v_failed::numeric / (v_failed + v_completed), 4) end,
    jsonb_build_object('failed_attempts', v_failed, 'completed', v_completed,
                       'window_minutes', extract(epoch from v_window)::int / 60, 'min_attempts', v_min);
end
$$;

create or replace function public.actp_detect_spend_spike(p_now timestamptz, p_params jsonb)
returns table (value numeric, evidence jsonb)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_hours int := coalesce((p_params ->> 'baseline_hours')::int, 24);
  v_floor numeric := coalesce((p_params ->> 'min_spend_usd')::numeric, 1);
  v_last numeric;
  v_base numeric;
  v_avg numeric;
begin
  select coalesce(sum(l.cost_usd), 0) into v_last from public.actp_budget_ledger l
   where l.created_at > p_now - interval '1 hour' and l.created_at <= p_now;
  select coalesce(sum(l.cost_usd), 0) into v_base from public.actp_budget_ledger l
   where l.created_at > p_now - interval '1 hour' - v_hours * interval '1 hour' and l.created_at <= p_now - interval '1 hour';
  v_avg := v_base / v_hours;
  return query select
    case when v_last < v_floor then 0::numeric
         when v_avg > 0 then round(v_last / v_avg, 3)
         -- Spend well above the floor after a silent baseline is a spike of its own.
         else 1000::numeric end,
    jsonb_build_object('last_hour_usd', round(v_last, 4), 'hourly_average_usd', round(v_avg, 4),
                       'baseline_hours', v_hours, 'min_spend_usd', v_floor);
end
$$;

create or replace function public.actp_detect_heartbeat_failures(p_now timestamptz, p_params jsonb)
returns table (value numeric, evidence jsonb)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_window interval := coalesce((p_params ->> 'window_minutes')::int, 10) * interval '1 minute';
  v_sched_stale interval := coalesce((p_params ->> 'scheduler_stale_seconds')::int, 180) * interval '1 second';
  v_stale_secs int := public.actp_setting_int('worker_stale_seconds', 30);
  v_workers text[];
  v_services text[];
begin
  -- Workers the supervisor declared stale in the window, and workers still "alive" whose heartbeat
  -- is already overdue (the supervisor has not run yet).
  select coalesce(array_agg(distinct w), '{}') into v_workers from (
    select e.payload ->> 'worker_id' as w from public.actp_events e
     where e.type = 'heartbeat.stale' and e.created_at > p_now - v_window and e.created_at <= p_now
    union
    select r.worker_id from public.actp_worker_registrations r
     where r.status in ('alive', 'draining') and r.last_heartbeat_at < p_now - v_stale_secs * interval '1 second'
  ) x where w is not null;
  -- Services: local schedulers that stopped ticking.
  select coalesce(array_agg('scheduler:' || x.executor_id), '{}') into v_services
    from public.actp_scheduler_executors x
   where x.last_tick_at < p_now - v_sched_stale;
  return query select
    (cardinality(v_workers) + cardinality(v_services))::numeric,
    jsonb_build_object('workers', to_jsonb(v_workers[1:20]), 'services', to_jsonb(v_services[1:20]),
                       'window_minutes', extract(epoch from v_window)::int / 60);
end
$$;

create or replace function public.actp_detect_dlq_growth(p_now timestamptz, p_params jsonb)
returns table (value numeric, evidence jsonb)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_window interval := coalesce((p_params ->> 'window_minutes')::int, 15) * interval '1 minute';
  v_new bigint;
  v_pending bigint;
  v_types jsonb;
begin
  select count(*) into v_new from public.actp_events e
   where e.type = 'dlq.enqueued' and e.created_at > p_now - v_window and e.created_at <= p_now;
  select count(*) into v_pending from public.actp_dlq d where d.resolution is null;
  select coalesce(jsonb_object_agg(t, n), '{}') into v_types from (
    select e.payload ->> 'job_type' as t, count(*) as n from public.actp_events e
     where e.type = 'dlq.enqueued' and e.created_at > p_now - v_window and e.created_at <= p_now
     group by 1 order by 2 desc limit 10) x;
  return query select v_new::numeric,
    jsonb_build_object('enqueued', v_new, 'pending', v_pending, 'by_job_type', v_types,
                       'window_minutes', extract(epoch from v_window)::int / 60);
end
$$;

create or replace function public.actp_detect_open_circuits(p_now timestamptz, p_params jsonb)
returns table (value numeric, evidence jsonb)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_open jsonb;
  v_n int;
begin
  select count(*), coalesce(jsonb_agg(jsonb_build_object('tool', s.tool_name, 'state', s.state, 'opened_at', s.opened_at)
                                      order by s.opened_at) filter (where true), '[]')
    into v_n, v_open
    from public.actp_circuit_states s where s.state <> 'closed';
  return query select v_n::numeric, jsonb_build_object('circuits', v_open);
end
$$;

create or replace function public.actp_detect_sla_page_burn(p_now timestamptz, p_params jsonb)
returns table (value numeric, evidence jsonb)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_types jsonb;
  v_n int;
begin
  select count(*), coalesce(jsonb_agg(jsonb_build_object('job_type', b.job_type, 'burn_5m', b.burn_5m, 'burn_30m', b.burn_30m,
                                                         'burn_1h', b.burn_1h, 'burn_6h', b.burn_6h, 'bad_1h', b.bad_1h,
                                                         'budget_remaining', b.budget_remaining)), '[]')
    into v_n, v_types
    from public.actp_sla_budget_status(p_now, false) b where b.page;
  return query select v_n::numeric, jsonb_build_object('job_types', v_types);
end
$$;

-- Effects ---------------------------------------------------------------------------------------------

-- In incident mode a job that fails on its second attempt or later does not retry (fail fast: at
-- most one retry). The rule the worker asks before a retry (node/worker/runtime.ts #fail), which
-- then dead-letters the job with reason incident_fail_fast.
create or replace function public.actp_retry_allowed(p_attempt int)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_attempt < 2 or coalesce((select ps.mode from public.actp_platform_state ps where ps.id), 'normal') <> 'incident'
$$;

-- pg_cron: non-critical actp schedules inactive in incident mode, active otherwise. Idempotent and
-- run on every pass, so a schedule re-synced during an incident is suspended again within a minute.
-- Returns how many cron jobs it changed.
create or replace function public.actp_incident_apply_schedules(p_mode text)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_jobid bigint;
  v_want boolean;
  n int := 0;
  v_cron constant text := 'cron';
begin
  if not public.actp_pg_cron_active() then
    return 0;
  end if;
  for v_jobid, v_want in execute format($q$
      select j.jobid, (s.critical or $1 <> 'incident') as want
        from %I.job j join public.actp_schedules s on s.name = j.jobname
       where j.command like 'select public.actp_schedules_run(%%'
         and j.active is distinct from (s.critical or $1 <> 'incident')
    $q$, v_cron) using p_mode
  loop
    execute format('select %I.alter_job(job_id => $1, active => $2)', v_cron) using v_jobid, v_want;
    n := n + 1;
  end loop;
  return n;
end
$$;

-- Transitions -----------------------------------------------------------------------------------------

-- The one place the mode changes. Caller holds the mode row lock. Writes the mode, the incident log,
-- the transition with its evidence, the events and the alert; applies the schedule effects.
create or replace function public.actp_incident_transition(
  p_to text, p_actor text, p_reason text, p_evidence jsonb, p_source text, p_note text default null,
  p_at timestamptz default now()
)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  ps public.actp_platform_state;
  v_incident uuid;
  v_inc public.actp_incident_log;
begin
  select * into ps from public.actp_platform_state where id;
  if ps.mode = p_to then
    return ps.incident_id;
  end if;
  v_incident := ps.incident_id;

  if ps.mode = 'normal' then
    insert into public.actp_incident_log (declared_at, trigger_reason, trigger_data, source, mode, peak_mode, declared_by, declare_note)
    values (p_at, left(p_reason, 1000), coalesce(p_evidence, '{}'), p_source, p_to, p_to, p_actor, p_note)
    returning id into v_incident;
  elsif p_to = 'normal' then
    update public.actp_incident_log
       set resolved_at = greatest(p_at, declared_at), resolved_by = p_actor, resolution_note = left(coalesce(p_note, p_reason), 2000)
     where id = v_incident and resolved_at is null;
  else
    update public.actp_incident_log
       set mode = p_to,
           peak_mode = public.actp_mode_of_level(greatest(public.actp_mode_level(peak_mode), public.actp_mode_level(p_to)))
     where id = v_incident;
  end if;

  insert into public.actp_incident_transitions (incident_id, from_mode, to_mode, actor, reason, evidence, at)
  values (v_incident, ps.mode, p_to, p_actor, left(p_reason, 1000), coalesce(p_evidence, '{}'), p_at);

  update public.actp_platform_state
     set mode = p_to, reason = left(p_reason, 1000), changed_at = p_at, changed_by = p_actor,
         incident_id = case when p_to = 'normal' then null else v_incident end,
         manual = case when p_to = 'normal' then false
                       when p_source = 'manual' then true else manual end,
         calm_since = case when p_to = 'normal' then null else calm_since end
   where id;

  select * into v_inc from public.actp_incident_log where id = v_incident;
  if ps.mode = 'normal' or public.actp_mode_level(p_to) > public.actp_mode_level(ps.mode) then
    perform public.actp_emit('incident.declared', jsonb_strip_nulls(jsonb_build_object(
      'incident_id', v_incident, 'trigger_reason', left(p_reason, 1000), 'mode', p_to,
      'trigger_data', coalesce(p_evidence, '{}'), 'declared_by', p_actor)));
  end if;
  if p_to = 'normal' then
    perform public.actp_emit('incident.resolved', jsonb_strip_nulls(jsonb_build_object(
      'incident_id', v_incident, 'resolution_note', left(coalesce(p_note, p_reason), 2000),
      'duration_ms', public.actp_sla_ms(v_inc.resolved_at - v_inc.declared_at), 'resolved_by', p_actor,
      'evidence', coalesce(p_evidence, '{}'))));
  end if;
  perform public.actp_emit('incident.mode_changed', jsonb_strip_nulls(jsonb_build_object(
    'incident_id', v_incident, 'from_mode', ps.mode, 'to_mode', p_to, 'actor', p_actor,
    'reason', left(p_reason, 1000), 'evidence', coalesce(p_evidence, '{}'))));

  perform public.actp_incident_apply_schedules(p_to);

  perform public.actp_alert_enqueue(
    'incident',
    case p_to when 'incident' then 'critical' when 'degraded' then 'warning' else 'info' end,
    'incident:' || v_incident,
    format('Platform mode %s → %s', ps.mode, p_to),
    jsonb_strip_nulls(jsonb_build_object('incident_id', v_incident, 'from', ps.mode, 'to', p_to,
                                         'reason', left(p_reason, 1000), 'actor', p_actor, 'note', p_note,
                                         'firing', p_evidence -> 'firing')));
  update public.actp_incident_log set last_alert_at = p_at where id = v_incident;
  return v_incident;
end
$$;

-- The detector pass (every minute): evaluate, update per-detector hysteresis, decide, transition.
-- p_now is for tests and the benchmark; the schedule passes nothing.
create or replace function public.actp_incident_tick(p_now timestamptz default now())
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  ps public.actp_platform_state;
  d record;
  v_value numeric;
  v_ev jsonb;
  v_firing boolean;
  v_fired text[] := '{}';
  v_forced boolean := false;
  v_readings jsonb := '{}'::jsonb;
  v_target int;
  v_level int;
  v_to text;
  v_evidence jsonb;
  v_reason text;
  v_inc public.actp_incident_log;
begin
  -- The lock that makes concurrent passes (and a pass racing an operator) take turns.
  select * into ps from public.actp_platform_state where id for update;

  for d in select x.*, s.firing as was_firing, s.firing_since
             from public.actp_incident_detectors x
             join public.actp_incident_detector_state s on s.name = x.name
            where x.enabled order by x.name loop
    execute format('select value, evidence from public.%I($1, $2)', 'actp_detect_' || d.name) into v_value, v_ev using p_now, d.params;
    v_firing := case when v_value is null then false
                     when d.was_firing then v_value > d.clear_at_most
                     else v_value > d.fire_above end;
    update public.actp_incident_detector_state
       set firing = v_firing, value = v_value, evidence = v_ev, evaluated_at = p_now,
           firing_since = case when v_firing then coalesce(firing_since, p_now) end
     where name = d.name;
    v_readings := v_readings || jsonb_build_object(d.name, jsonb_build_object(
      'value', v_value, 'firing', v_firing, 'fire_above', d.fire_above, 'clear_at_most', d.clear_at_most, 'evidence', v_ev));
    if v_firing then
      v_fired := v_fired || d.name;
      v_forced := v_forced or d.forces_incident;
    end if;
  end loop;

  v_level := public.actp_mode_level(ps.mode);
  v_target := case when v_forced or cardinality(v_fired) >= 2 then 2 when cardinality(v_fired) = 1 then 1 else 0 end;
  v_evidence := jsonb_build_object('firing', to_jsonb(v_fired), 'detectors', v_readings, 'evaluated_at', p_now);

  update public.actp_platform_state
     set calm_since = case when cardinality(v_fired) = 0 then coalesce(calm_since, p_now) end,
         last_tick_at = p_now
   where id
  returning * into ps;

  if v_target > v_level then
    v_to := public.actp_mode_of_level(v_target);
    v_reason := case when v_forced then 'page-level SLA burn: ' else '' end
                || format('%s detector(s) firing: %s', cardinality(v_fired), array_to_string(v_fired, ', '));
    perform public.actp_incident_transition(v_to, 'detector', v_reason, v_evidence, 'detector', null, p_now);
  elsif v_level > 0 and cardinality(v_fired) = 0 and not ps.manual
        and p_now - greatest(ps.calm_since, ps.changed_at) >= ps.cooldown_seconds * interval '1 second' then
    -- One level per cooldown: the clock restarts with this change (changed_at).
    v_to := public.actp_mode_of_level(v_level - 1);
    v_reason := format('every detector below its clear threshold for %s s', ps.cooldown_seconds);
    perform public.actp_incident_transition(v_to, 'detector', v_reason, v_evidence, 'detector',
      case when v_to = 'normal' then 'recovered: ' || v_reason end, p_now);
  else
    v_to := ps.mode;
    -- Unacknowledged and still open: remind, at most every reminder_seconds.
    if ps.incident_id is not null then
      select * into v_inc from public.actp_incident_log where id = ps.incident_id;
      if v_inc.acknowledged_at is null and v_inc.last_alert_at < p_now - ps.reminder_seconds * interval '1 second' then
        perform public.actp_alert_enqueue('incident', case ps.mode when 'incident' then 'critical' else 'warning' end,
          'incident:' || v_inc.id, format('Still %s, not acknowledged', ps.mode),
          jsonb_build_object('incident_id', v_inc.id, 'mode', ps.mode, 'since', v_inc.declared_at,
                             'firing', to_jsonb(v_fired), 'reminder', true));
        update public.actp_incident_log set last_alert_at = p_now where id = v_inc.id;
      end if;
    end if;
  end if;

  -- Keeps pg_cron's suspension true even if a schedule was re-synced meanwhile.
  perform public.actp_incident_apply_schedules(v_to);

  return jsonb_build_object('mode', v_to, 'previous_mode', public.actp_mode_of_level(v_level),
                            'firing', to_jsonb(v_fired), 'target_mode', public.actp_mode_of_level(v_target),
                            'calm_since', ps.calm_since);
end
$$;

insert into public.actp_schedules (name, cron_expr, command, description, critical)
values (
  'actp:incident:detect',
  '* * * * *',
  'select public.actp_incident_tick()',
  'Runs the incident detectors and moves the platform mode (PRD §4.10).',
  true
)
on conflict (name) do nothing;

-- Manual actions (operators) ----------------------------------------------------------------------------
-- The caller is checked inside (actp_can_act()) and the identity recorded comes from the token
-- (actp_caller_actor()); only a service-role caller may name another actor (the Telegram webhook
-- acts for a Telegram user that way).

create or replace function public.actp_incident_actor(p_actor text)
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
  if not public.actp_can_act() then
    raise exception using errcode = 'P0001',
      message = 'auth.forbidden: incidents are declared, acknowledged and resolved by actp operators';
  end if;
  if public.actp_caller_kind() = 'service_role' and nullif(btrim(p_actor), '') is not null then
    return left(btrim(p_actor), 200);
  end if;
  return public.actp_caller_actor();
end
$$;

create or replace function public.actp_incident_check_note(p_note text, p_required boolean)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_note is null or btrim(p_note) = '' then
    if p_required then
      raise exception using errcode = 'P0001', message = 'incidents.note_required: this action needs a note saying why';
    end if;
    return null;
  end if;
  if length(p_note) > 2000 then
    raise exception using errcode = 'P0001', message = 'incidents.invalid_note: a note is 1 to 2000 characters';
  end if;
  return btrim(p_note);
end
$$;

create or replace function public.actp_incident_declare(p_mode text, p_reason text, p_note text default null, p_actor text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_actor text := public.actp_incident_actor(p_actor);
  v_reason text := public.actp_incident_check_note(p_reason, true);
  v_note text := public.actp_incident_check_note(p_note, false);
  ps public.actp_platform_state;
  v_evidence jsonb;
begin
  if p_mode is null or p_mode not in ('degraded', 'incident') then
    raise exception using errcode = 'P0001', message = 'incidents.invalid_mode: declare degraded or incident';
  end if;
  select * into ps from public.actp_platform_state where id for update;
  if public.actp_mode_level(ps.mode) >= public.actp_mode_level(p_mode) then
    raise exception using errcode = 'P0001',
      message = format('incidents.conflict: the platform is already in %s mode (incident %s)', ps.mode, ps.incident_id);
  end if;
  select jsonb_build_object('firing', coalesce(jsonb_agg(s.name) filter (where s.firing), '[]'),
                            'detectors', coalesce(jsonb_object_agg(s.name, jsonb_build_object('value', s.value, 'firing', s.firing, 'evidence', s.evidence)), '{}'),
                            'declared_by_hand', true)
    into v_evidence from public.actp_incident_detector_state s;
  perform public.actp_incident_transition(p_mode, v_actor, v_reason, v_evidence, 'manual', v_note);
  return public.actp_incident_current();
end
$$;

create or replace function public.actp_incident_acknowledge(p_note text default null, p_actor text default null, p_incident_id uuid default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_actor text := public.actp_incident_actor(p_actor);
  v_note text := public.actp_incident_check_note(p_note, false);
  ps public.actp_platform_state;
  v_inc public.actp_incident_log;
begin
  select * into ps from public.actp_platform_state where id for update;
  select * into v_inc from public.actp_incident_log where id = ps.incident_id and resolved_at is null;
  if not found then
    raise exception using errcode = 'P0001', message = 'incidents.not_found: there is no open incident to acknowledge';
  end if;
  if p_incident_id is not null and p_incident_id <> v_inc.id then
    raise exception using errcode = 'P0001',
      message = format('incidents.conflict: incident %s is not the open one (%s)', p_incident_id, v_inc.id);
  end if;
  if v_inc.acknowledged_at is null then
    update public.actp_incident_log
       set acknowledged_at = now(), acknowledged_by = v_actor, acknowledge_note = v_note
     where id = v_inc.id;
    perform public.actp_emit('incident.acknowledged', jsonb_strip_nulls(jsonb_build_object(
      'incident_id', v_inc.id, 'acknowledged_by', v_actor, 'note', v_note)));
  end if;
  return public.actp_incident_current() || jsonb_build_object('already_acknowledged', v_inc.acknowledged_at is not null);
end
$$;

create or replace function public.actp_incident_resolve(p_note text, p_actor text default null, p_incident_id uuid default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_actor text := public.actp_incident_actor(p_actor);
  v_note text := public.actp_incident_check_note(p_note, true);
  ps public.actp_platform_state;
  v_evidence jsonb;
  v_id uuid;
begin
  select * into ps from public.actp_platform_state where id for update;
  if ps.mode = 'normal' or ps.incident_id is null then
    raise exception using errcode = 'P0001', message = 'incidents.not_found: there is no open incident to resolve';
  end if;
  v_id := ps.incident_id;
  if p_incident_id is not null and p_incident_id <> v_id then
    raise exception using errcode = 'P0001',
      message = format('incidents.conflict: incident %s is not the open one (%s)', p_incident_id, v_id);
  end if;
  select jsonb_build_object('firing', coalesce(jsonb_agg(s.name) filter (where s.firing), '[]'),
                            'detectors', coalesce(jsonb_object_agg(s.name, jsonb_build_object('value', s.value, 'firing', s.firing, 'evidence', s.evidence)), '{}'),
                            'resolved_by_hand', true)
    into v_evidence from public.actp_incident_detector_state s;
  perform public.actp_incident_transition('normal', v_actor, 'resolved by hand', v_evidence, 'manual', v_note);
  -- Re-arm: a detector must cross its fire threshold again to declare a new incident.
  update public.actp_incident_detector_state set firing = false, firing_since = null;
  return jsonb_build_object('mode', 'normal', 'incident',
    (select to_jsonb(l) from public.actp_incident_log l where l.id = v_id));
end
$$;

-- Reads ------------------------------------------------------------------------------------------------

-- The mode, the open incident with its evidence and transitions, and every detector's last reading.
-- Security invoker: RLS decides what the caller may read.
create or replace function public.actp_incident_current()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'mode', coalesce(ps.mode, 'normal'),
    'reason', ps.reason,
    'changed_at', ps.changed_at,
    'changed_by', ps.changed_by,
    'manual', coalesce(ps.manual, false),
    'calm_since', ps.calm_since,
    'cooldown_seconds', ps.cooldown_seconds,
    'last_tick_at', ps.last_tick_at,
    'incident', (select to_jsonb(l) || jsonb_build_object(
                   -- What caused it and what the detectors read at the latest transition.
                   'evidence', jsonb_build_object('trigger', l.trigger_data,
                                 'latest', (select t.evidence from public.actp_incident_transitions t
                                             where t.incident_id = l.id order by t.at desc, t.id desc limit 1)),
                   'transitions', coalesce((select jsonb_agg(to_jsonb(t) - 'incident_id' order by t.at, t.id)
                                              from public.actp_incident_transitions t where t.incident_id = l.id), '[]'))
                   from public.actp_incident_log l where l.id = ps.incident_id),
    'detectors', coalesce((select jsonb_agg(jsonb_build_object(
                   'name', x.name, 'description', x.description, 'enabled', x.enabled,
                   'fire_above', x.fire_above, 'clear_at_most', x.clear_at_most, 'forces_incident', x.forces_incident,
                   'firing', s.firing, 'value', s.value, 'firing_since', s.firing_since,
                   'evaluated_at', s.evaluated_at, 'evidence', s.evidence) order by x.name)
                   from public.actp_incident_detectors x
                   left join public.actp_incident_detector_state s on s.name = x.name), '[]'))
  from (select 1) one
  left join public.actp_platform_state ps on ps.id;
$$;

select public.actp_secure_table('actp_incident_log', 'read');
select public.actp_secure_table('actp_incident_transitions', 'read');
select public.actp_secure_table('actp_incident_detectors', 'read');
select public.actp_secure_table('actp_incident_detector_state', 'read');

-- Indexes the detectors read: (type, created_at) on actp_events exists; heartbeat staleness by status
-- and time exists on actp_worker_registrations; the ledger is indexed by created_at.

do $$
declare
  f text;
begin
  -- Service role (schedules, workers): the pass, transitions, effects, detectors.
  foreach f in array array[
    'public.actp_detect_error_rate(timestamptz, jsonb)',
    'public.actp_detect_spend_spike(timestamptz, jsonb)',
    'public.actp_detect_heartbeat_failures(timestamptz, jsonb)',
    'public.actp_detect_dlq_growth(timestamptz, jsonb)',
    'public.actp_detect_open_circuits(timestamptz, jsonb)',
    'public.actp_detect_sla_page_burn(timestamptz, jsonb)',
    'public.actp_incident_apply_schedules(text)',
    'public.actp_incident_transition(text, text, text, jsonb, text, text, timestamptz)',
    'public.actp_incident_tick(timestamptz)',
    'public.actp_retry_allowed(int)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
  -- Operator actions: run by the functions with the service role's privileges and the caller's
  -- claims (functions/_shared/act.ts); each checks actp_can_act() and records actp_caller_actor().
  foreach f in array array[
    'public.actp_incident_actor(text)',
    'public.actp_incident_check_note(text, boolean)',
    'public.actp_incident_declare(text, text, text, text)',
    'public.actp_incident_acknowledge(text, text, uuid)',
    'public.actp_incident_resolve(text, text, uuid)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
  -- Readers: invoker functions whose every table read passes an actp_can_read() policy.
  foreach f in array array[
    'public.actp_incident_current()',
    'public.actp_mode_level(text)',
    'public.actp_mode_of_level(int)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role, authenticated', f);
  end loop;
end
$$;
