-- Issue 9 (runtime): failures the runtime understands, parallel steps, recovery in seconds.
--
-- * actp_jobs_fail_attempt: settles a failed attempt after (or beside) pg-boss's own fail, reading
--   from pg-boss's row whether it will retry and when (start_after), so the timeline states pg-boss's
--   real decision instead of a copy of its backoff formula; job.failed says why (reason, code).
-- * Workers register their heartbeat interval; one is stale after a few missed beats (3 by
--   default), and every live worker runs the supervisor tick inside its heartbeat (lock-protected,
--   one tick at a time cluster-wide), so a dead worker's job runs again within seconds. The timeline
--   says why a job ran again: agent.stalled naming the worker, then job.retrying with the reason,
--   before the next attempt's job.dispatched, whichever supervisor (actp's or pg-boss's) noticed.
-- * Durable steps carry their real start time and take their ordinal under a per-job lock, so steps
--   run with Promise.all do not collide on it.
-- * A submission for an agent no live worker serves says so (warning) in its answer and job.received.

-- Worker heartbeats --------------------------------------------------------------------------------

alter table public.actp_worker_registrations
  add column heartbeat_interval_ms int check (heartbeat_interval_ms is null or heartbeat_interval_ms between 50 and 600000);

-- Missed beats after which a worker counts as dead.
create or replace function public.actp_worker_stale_beats()
returns int
language sql
immutable
set search_path = ''
as $$
  select 3;
$$;

-- How long a worker may go without a heartbeat: an explicit threshold (a test, an operator's call),
-- else the database setting actp.worker_stale_seconds, else stale_beats of its own heartbeat
-- interval, else 30 s for a worker that did not say its interval.
create or replace function public.actp_worker_stale_after(p_heartbeat_ms int, p_stale_seconds int default null)
returns interval
language sql
stable
set search_path = ''
as $$
  select coalesce(
    p_stale_seconds * interval '1s',
    nullif(current_setting('actp.worker_stale_seconds', true), '')::int * interval '1s',
    p_heartbeat_ms * public.actp_worker_stale_beats() * interval '1ms',
    interval '30s');
$$;

drop function public.actp_workers_register(text, text, int, text[], bigint);
create function public.actp_workers_register(
  p_worker text, p_host text, p_pid int, p_agents text[], p_rss bigint, p_heartbeat_ms int default null
)
returns void
language sql
set search_path = ''
as $$
  insert into public.actp_worker_registrations (worker_id, host, pid, agents, rss_bytes, status, heartbeat_interval_ms)
  values (p_worker, p_host, p_pid, coalesce(p_agents, '{}'), p_rss, 'alive', p_heartbeat_ms)
  on conflict (worker_id) do update
     set host = excluded.host, pid = excluded.pid, agents = excluded.agents, rss_bytes = excluded.rss_bytes,
         heartbeat_interval_ms = excluded.heartbeat_interval_ms,
         status = 'alive', started_at = now(), last_heartbeat_at = now(), stopped_at = null;
$$;

-- Supervisor -----------------------------------------------------------------------------------

-- Hands active pg-boss jobs of a dead worker back to their queue as pg-boss's own supervisor does
-- when a job loses its heartbeat (delete and re-insert as 'retry' while retries remain, else 'failed'
-- with a copy in its dead-letter queue), but due at once: the attempt was lost with its worker, it
-- did not fail, so there is nothing to back off from. Returns each job's new state.
create or replace function public.actp_jobs_requeue_pgboss(p_jobs uuid[], p_message text)
returns table (job_id uuid, state text)
language plpgsql
set search_path = ''
as $$
declare
  t record;
begin
  perform public.actp_jobs_require_pgboss();
  for t in
    select distinct q.table_name, q.name from pgboss.queue q
      join public.actp_jobs j on public.actp_jobs_queue_name(j.agent_slug) = q.name
     where j.id = any(p_jobs)
  loop
    return query execute format($sql$
      with deleted_jobs as (
        delete from pgboss.%1$I where name = $1 and id = any($2) and state = 'active' returning *
      ),
      reinserted as (
        insert into pgboss.%1$I (
          id, name, priority, data, state, retry_limit, retry_count, retry_delay, retry_backoff, retry_delay_max,
          start_after, started_on, singleton_key, singleton_on, group_id, group_tier, expire_seconds,
          deletion_seconds, created_on, completed_on, keep_until, policy, output, dead_letter, heartbeat_on,
          heartbeat_seconds, blocked, blocking, pending_dependencies, source_name, source_id, source_created_on,
          source_retry_count, source_output, source_root_id, trace_context
        )
        select
          id, name, priority, data,
          (case when retry_count < retry_limit then 'retry' else 'failed' end)::pgboss.job_state,
          retry_limit, retry_count, retry_delay, retry_backoff, retry_delay_max,
          case when retry_count >= retry_limit then start_after else pgboss.job_now() end,
          started_on, singleton_key, singleton_on, group_id, group_tier, expire_seconds,
          deletion_seconds, created_on,
          case when retry_count < retry_limit then null else pgboss.job_now() end,
          keep_until, policy, jsonb_build_object('value', jsonb_build_object('message', $3::text)), dead_letter, null,
          heartbeat_seconds, blocked, blocking, pending_dependencies, source_name, source_id, source_created_on,
          source_retry_count, source_output, source_root_id, trace_context
        from deleted_jobs
        on conflict do nothing
        returning *
      ),
      dlq_jobs as (
        insert into pgboss.job (name, priority, data, retry_limit, retry_backoff, retry_delay, start_after, created_on,
          keep_until, deletion_seconds, expire_seconds, singleton_key, group_id, group_tier, heartbeat_seconds,
          source_name, source_id, source_created_on, source_retry_count, source_output, source_root_id, trace_context)
        select r.dead_letter, r.priority, r.data, q.retry_limit, q.retry_backoff, q.retry_delay, pgboss.job_now(),
          pgboss.job_now(), pgboss.job_now() + q.retention_seconds * interval '1s', q.deletion_seconds,
          q.expire_seconds, r.singleton_key, r.group_id, r.group_tier, q.heartbeat_seconds,
          r.name, r.id, r.created_on, r.retry_count, r.output, coalesce(r.source_root_id, r.id), r.trace_context
        from reinserted r join pgboss.queue q on q.name = r.dead_letter
        where r.state = 'failed'
      ),
      notified as (
        select pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), $1)
          from reinserted r where r.state = 'retry' limit 1
      )
      select r.id, r.state::text from reinserted r where (select count(*) from notified) >= 0
    $sql$, t.table_name) using t.name, p_jobs, p_message;
  end loop;
end
$$;

-- Requeues actp jobs whose attempt was abandoned and settles actp's record the way the worker would
-- have: retrying when pg-boss retries it, dead when it was dead-lettered. The timeline gets, in this
-- order: agent.stalled (naming the worker), job.timed_out when it ran out of time, then job.retrying
-- with the reason (or job.failed when no retry is left).
create or replace function public.actp_jobs_release(p_jobs uuid[], p_message text, p_code text, p_action text, p_timed_out boolean)
returns int
language plpgsql
set search_path = ''
as $$
declare
  r record;
  n int := 0;
  v_state text;
  v_run_at timestamptz;
  v_reason text;
  v_error jsonb;
begin
  for r in
    select j.* from public.actp_jobs j where j.id = any(p_jobs) and j.status = 'running' for update
  loop
    v_reason := case when p_timed_out then p_message
                     else format('%s (worker %s)', p_message, coalesce(r.worker_id, 'unknown')) end;
    v_error := jsonb_build_object('message', v_reason, 'code', p_code, 'where', 'actp_supervisor_tick');
    v_state := null;
    select x.state into v_state from public.actp_jobs_requeue_pgboss(array[r.id], v_reason) x limit 1;
    -- pg-boss already moved the job on (its own supervisor, or a settle) or just did: read where it is.
    execute 'select state::text, start_after from pgboss.job where name = $1 and id = $2'
      into v_state, v_run_at using public.actp_jobs_queue_name(r.agent_slug), r.id;
    update public.actp_jobs
       set status = case when v_state = 'failed' then 'dead' when v_state in ('retry', 'created') then 'retrying' else status end,
           error = v_error,
           finished_at = case when v_state = 'failed' then now() else null end
     where id = r.id;
    perform public.actp_emit('agent.stalled',
      jsonb_strip_nulls(jsonb_build_object(
        'stalled_ms', greatest(0, floor(extract(epoch from (now() - coalesce(r.started_at, r.created_at))) * 1000))::bigint,
        'worker_id', r.worker_id, 'action', p_action)),
      r.id, null, r.agent_slug, null);
    if p_timed_out then
      perform public.actp_emit('job.timed_out',
        jsonb_build_object('timeout_ms', 1000 * coalesce((select q.expire_seconds from pgboss.queue q
                                                            where q.name = public.actp_jobs_queue_name(r.agent_slug)), 900),
                           'attempt', greatest(r.attempts, 1), 'will_retry', v_state in ('retry', 'created')),
        r.id, null, r.agent_slug, null);
    end if;
    if v_state in ('retry', 'created') then
      perform public.actp_emit('job.retrying',
        jsonb_strip_nulls(jsonb_build_object(
          'attempt', greatest(r.attempts, 1) + 1,
          'delay_ms', greatest(0, floor(extract(epoch from (v_run_at - now())) * 1000))::bigint,
          'run_at', to_char(v_run_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'reason', v_reason, 'error', v_error, 'max_attempts', r.max_attempts)),
        r.id, null, r.agent_slug, null);
    elsif v_state = 'failed' then
      perform public.actp_emit('job.failed',
        jsonb_strip_nulls(jsonb_build_object('error', v_error, 'attempt', greatest(r.attempts, 1), 'will_retry', false,
                                             'reason', 'retries_exhausted', 'max_attempts', r.max_attempts)),
        r.id, null, r.agent_slug, null);
    end if;
    n := n + 1;
  end loop;
  return n;
end
$$;

-- The §4.13 supervisor. Every live worker runs it from its heartbeat, and pg_cron (or the local
-- scheduler) every minute as a floor; a transaction-level try-lock makes concurrent calls skip
-- (skipped: true) instead of queueing. Marks workers whose heartbeats stopped as dead
-- (heartbeat.stale), releases and requeues the jobs they held, and releases jobs held past their
-- timeout. p_stale_seconds overrides each worker's own threshold (actp_worker_stale_after).
create or replace function public.actp_supervisor_tick(p_stale_seconds int default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_dead text[];
  v_orphans uuid[];
  v_expired uuid[];
  v_released int := 0;
  v_timed_out int := 0;
begin
  if not pg_try_advisory_xact_lock(hashtextextended('actp.supervisor_tick', 0)) then
    return jsonb_build_object('dead_workers', '[]'::jsonb, 'released', 0, 'timed_out', 0, 'skipped', true);
  end if;

  with stale as (
    update public.actp_worker_registrations w
       set status = 'dead', stopped_at = now()
     where w.status in ('alive', 'draining')
       and w.last_heartbeat_at < now() - public.actp_worker_stale_after(w.heartbeat_interval_ms, p_stale_seconds)
    returning w.worker_id, w.last_heartbeat_at, w.rss_bytes
  ), emitted as (
    select public.actp_emit('heartbeat.stale',
             jsonb_strip_nulls(jsonb_build_object(
               'worker_id', s.worker_id,
               'last_heartbeat_at', to_char(s.last_heartbeat_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'stale_ms', floor(extract(epoch from (now() - s.last_heartbeat_at)) * 1000)::bigint,
               'rss_bytes', s.rss_bytes)),
             null, null, null, null) as seq, s.worker_id
      from stale s
  )
  select coalesce(array_agg(worker_id), '{}') into v_dead from emitted;

  select coalesce(array_agg(j.id), '{}') into v_orphans
    from public.actp_jobs j
    join public.actp_worker_registrations w on w.worker_id = j.worker_id
   where j.status = 'running' and w.status in ('dead', 'recycled');
  if cardinality(v_orphans) > 0 then
    v_released := public.actp_jobs_release(v_orphans, 'worker stopped heart-beating; its claim was released and the job requeued',
                                           'worker.dead', 'requeued', false);
  end if;

  if to_regclass('pgboss.queue') is not null then
    execute $sql$
      select coalesce(array_agg(j.id), '{}')
        from public.actp_jobs j
        join pgboss.job b on b.name = 'actp.agent.' || j.agent_slug and b.id = j.id
       where j.status = 'running' and b.state = 'active'
         and b.started_on + b.expire_seconds * interval '1s' < pgboss.job_now()
    $sql$ into v_expired;
    if cardinality(v_expired) > 0 then
      v_timed_out := public.actp_jobs_release(v_expired, 'job held past its timeout; claim released and job requeued',
                                              'job.timed_out', 'requeued', true);
    end if;
  end if;

  return jsonb_build_object('dead_workers', to_jsonb(v_dead), 'released', v_released, 'timed_out', v_timed_out);
end
$$;

-- One round trip per heartbeat: liveness and RSS, run.lease_renewed for the jobs whose lease the
-- worker renews this time, the supervisor tick when p_supervise (a failing tick must not stop the
-- heartbeat: it is caught and reported as a warning), and the running jobs the worker must abort
-- (cancelled, or given to another worker by the supervisor).
drop function public.actp_workers_heartbeat(text, bigint, text, uuid[], uuid[], int);
create function public.actp_workers_heartbeat(
  p_worker text, p_rss bigint, p_status text, p_running uuid[], p_renew uuid[], p_lease_seconds int,
  p_supervise boolean default false
)
returns uuid[]
language plpgsql
set search_path = ''
as $$
declare
  v_abort uuid[];
begin
  update public.actp_worker_registrations
     set last_heartbeat_at = now(), rss_bytes = p_rss,
         status = case when p_status in ('alive', 'draining', 'recycled', 'dead') then p_status else status end,
         stopped_at = case when p_status in ('recycled', 'dead') then now() else null end
   where worker_id = p_worker;

  if coalesce(cardinality(p_renew), 0) > 0 then
    perform public.actp_emit('run.lease_renewed',
      jsonb_build_object('worker_id', p_worker,
        'lease_expires_at', to_char((now() + p_lease_seconds * interval '1s') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
      j.id, null, j.agent_slug, null)
      from public.actp_jobs j
     where j.id = any(p_renew) and j.status = 'running' and j.worker_id = p_worker;
  end if;

  if p_supervise and p_status = 'alive' then
    begin
      perform public.actp_supervisor_tick(null);
    exception when others then
      raise warning 'actp supervisor tick in heartbeat of % failed: %', p_worker, sqlerrm;
    end;
  end if;

  select coalesce(array_agg(r.id), '{}') into v_abort
    from unnest(coalesce(p_running, '{}'::uuid[])) as r(id)
    left join public.actp_jobs j on j.id = r.id
   where j.id is null or j.status <> 'running' or j.worker_id is distinct from p_worker;
  return v_abort;
end
$$;

-- Worker: start, steps, failures ---------------------------------------------------------------

-- As before, plus: when the job is still 'running' under another worker (or an earlier attempt of
-- this one), that attempt was lost without actp's supervisor settling it (pg-boss's own supervisor
-- requeued it on heartbeat loss or expiry), so agent.stalled and job.retrying say so before this
-- attempt's job.dispatched.
create or replace function public.actp_jobs_start(p_job uuid, p_worker text, p_attempt int, p_queue text, p_lease_seconds int)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_job public.actp_jobs%rowtype;
  v_prev public.actp_jobs%rowtype;
  v_from_ordinal int;
  v_reason text;
begin
  select * into v_prev from public.actp_jobs where id = p_job for update;
  if not found or v_prev.status not in ('queued', 'retrying', 'running') then
    return null;
  end if;
  update public.actp_jobs
     set status = 'running', attempts = p_attempt, worker_id = p_worker,
         started_at = coalesce(started_at, now()), finished_at = null
   where id = p_job
  returning * into v_job;

  if v_prev.status = 'running' and (v_prev.worker_id is distinct from p_worker or v_prev.attempts < p_attempt) then
    v_reason := format('attempt %s on worker %s was lost (its claim expired or its heartbeat stopped); pg-boss requeued the job',
                       v_prev.attempts, coalesce(v_prev.worker_id, 'unknown'));
    perform public.actp_emit('agent.stalled',
      jsonb_strip_nulls(jsonb_build_object(
        'stalled_ms', greatest(0, floor(extract(epoch from (now() - coalesce(v_prev.started_at, v_prev.created_at))) * 1000))::bigint,
        'worker_id', v_prev.worker_id, 'action', 'requeued')),
      p_job, null, v_job.agent_slug, null);
    perform public.actp_emit('job.retrying',
      jsonb_strip_nulls(jsonb_build_object('attempt', p_attempt, 'delay_ms', 0, 'reason', v_reason,
        'error', jsonb_build_object('message', v_reason, 'code', 'worker.lost'), 'max_attempts', v_job.max_attempts)),
      p_job, null, v_job.agent_slug, null);
  end if;

  if v_job.replay_of is not null and v_job.replay_from_step is not null then
    select s.ordinal into v_from_ordinal from public.actp_job_steps s
     where s.job_id = v_job.replay_of and s.name = v_job.replay_from_step;
    insert into public.actp_job_steps (job_id, ordinal, name, input_hash, status, output, attempt, reused_from_job, started_at, finished_at)
    select p_job, s.ordinal, s.name, s.input_hash, 'completed', s.output, 1, coalesce(s.reused_from_job, v_job.replay_of), now(), now()
      from public.actp_job_steps s
     where s.job_id = v_job.replay_of and s.status = 'completed' and s.ordinal < v_from_ordinal
    on conflict do nothing;
  end if;

  perform public.actp_emit(e.type, e.payload, p_job, null, v_job.agent_slug, null)
    from (values
      ('job.dispatched', jsonb_build_object('queue', p_queue, 'attempt', p_attempt)),
      ('run.claimed', jsonb_build_object('worker_id', p_worker, 'attempt', p_attempt,
          'lease_expires_at', to_char((now() + p_lease_seconds * interval '1s') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
    ) as e(type, payload);

  return jsonb_build_object(
    'input', v_job.input,
    'agent_version', v_job.agent_version,
    'max_attempts', v_job.max_attempts,
    'created_at', v_job.created_at,
    'replay_of', v_job.replay_of,
    'completed_steps', coalesce((
      select jsonb_object_agg(s.name, jsonb_build_object('output', s.output, 'ordinal', s.ordinal))
        from public.actp_job_steps s where s.job_id = p_job and s.status = 'completed'), '{}'::jsonb));
end
$$;

-- Steps of one job may be written concurrently (Promise.all): the next ordinal is taken under a
-- per-job transaction lock, so two first writes never pick the same one.
create or replace function public.actp_jobs_step_ordinal_lock(p_job uuid)
returns void
language sql
set search_path = ''
as $$
  select pg_advisory_xact_lock(hashtextextended(p_job::text, 9));
$$;

-- Begins a durable step that has been running for a while; p_started_at is when it started (the
-- running row is written late, so now() would understate its duration).
drop function public.actp_jobs_step_begin(uuid, text, text, int);
create function public.actp_jobs_step_begin(p_job uuid, p_name text, p_input_hash text, p_attempt int, p_started_at timestamptz default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_status text;
  v_output jsonb;
  v_started timestamptz := least(coalesce(p_started_at, now()), now());
begin
  perform public.actp_jobs_step_ordinal_lock(p_job);
  insert into public.actp_job_steps as s (job_id, ordinal, name, input_hash, status, attempt, started_at)
  values (p_job,
          coalesce((select max(x.ordinal) + 1 from public.actp_job_steps x where x.job_id = p_job), 0),
          p_name, p_input_hash, 'running', greatest(p_attempt, 1), v_started)
  on conflict (job_id, name) do update
     set status = 'running', input_hash = excluded.input_hash, attempt = excluded.attempt,
         error = null, output = null, started_at = excluded.started_at, finished_at = null
   where s.status <> 'completed'
  returning s.status into v_status;
  if v_status is null then
    select s.output into v_output from public.actp_job_steps s where s.job_id = p_job and s.name = p_name;
    return jsonb_build_object('status', 'completed', 'output', v_output);
  end if;
  return jsonb_build_object('status', 'running');
end
$$;

create or replace function public.actp_jobs_step_record(
  p_job uuid, p_name text, p_input_hash text, p_attempt int, p_started_at timestamptz, p_output jsonb, p_error jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_status text;
  v_output jsonb;
begin
  perform public.actp_jobs_step_ordinal_lock(p_job);
  insert into public.actp_job_steps as s (job_id, ordinal, name, input_hash, status, attempt, output, error, started_at, finished_at)
  values (p_job,
          coalesce((select max(x.ordinal) + 1 from public.actp_job_steps x where x.job_id = p_job), 0),
          p_name, p_input_hash, case when p_error is null then 'completed' else 'failed' end, greatest(p_attempt, 1),
          case when p_error is null then p_output end, p_error, least(p_started_at, now()), now())
  on conflict (job_id, name) do update
     set status = excluded.status, input_hash = excluded.input_hash, attempt = excluded.attempt,
         error = excluded.error, output = excluded.output, started_at = excluded.started_at, finished_at = now()
   where s.status <> 'completed'
  returning s.status into v_status;
  if v_status is null then
    select s.output into v_output from public.actp_job_steps s where s.job_id = p_job and s.name = p_name;
    return jsonb_build_object('status', 'already_completed', 'output', v_output);
  end if;
  return jsonb_build_object('status', v_status);
end
$$;

-- Settles a failed attempt in actp's record. The caller has told pg-boss first (in the same
-- transaction, or is about to dead-letter it): with p_will_retry null, whether pg-boss retries and
-- when is read from its job row (state 'retry' and start_after), so job.retrying states pg-boss's
-- own decision, jitter included. p_reason says why (job.failed.reason): backoff, retry_after,
-- non_retriable, invalid_input, duplicate_step, ... and retries_exhausted when no retry was left.
create or replace function public.actp_jobs_fail_attempt(
  p_job uuid, p_worker text, p_attempt int, p_error jsonb, p_queue text,
  p_will_retry boolean, p_reason text, p_timeout_ms bigint default null
)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_job public.actp_jobs%rowtype;
  v_will_retry boolean := p_will_retry;
  v_state text;
  v_run_at timestamptz;
  v_reason text := coalesce(p_reason, 'backoff');
begin
  if v_will_retry is null then
    perform public.actp_jobs_require_pgboss();
    execute 'select state::text, start_after from pgboss.job where name = $1 and id = $2'
      into v_state, v_run_at using p_queue, p_job;
    v_will_retry := coalesce(v_state in ('retry', 'created'), false);
  end if;
  if not v_will_retry and v_reason in ('backoff', 'retry_after', 'policy_retry_after', 'circuit_open') then
    v_reason := 'retries_exhausted';
  end if;

  update public.actp_jobs
     set status = case when v_will_retry then 'retrying' else 'dead' end,
         error = p_error || jsonb_build_object('retriable', v_will_retry or v_reason = 'retries_exhausted', 'reason', v_reason),
         finished_at = case when v_will_retry then null else now() end
   where id = p_job and status = 'running' and worker_id = p_worker and attempts = p_attempt
  returning * into v_job;
  if not found then
    return false;
  end if;
  if p_timeout_ms is not null then
    perform public.actp_emit('job.timed_out',
      jsonb_build_object('timeout_ms', p_timeout_ms, 'attempt', p_attempt, 'will_retry', v_will_retry,
                         'elapsed_ms', greatest(0, floor(extract(epoch from (now() - v_job.started_at)) * 1000))::bigint),
      p_job, null, v_job.agent_slug, null);
  end if;
  perform public.actp_emit('job.failed',
    jsonb_strip_nulls(jsonb_build_object('error', p_error, 'attempt', p_attempt, 'will_retry', v_will_retry,
                                         'reason', v_reason, 'max_attempts', v_job.max_attempts)),
    p_job, p_error ->> 'step', v_job.agent_slug, null);
  if v_will_retry then
    v_run_at := coalesce(v_run_at, now());
    perform public.actp_emit('job.retrying',
      jsonb_strip_nulls(jsonb_build_object(
        'attempt', p_attempt + 1,
        'delay_ms', greatest(0, floor(extract(epoch from (v_run_at - now())) * 1000))::bigint,
        'run_at', to_char(v_run_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'reason', v_reason, 'error', p_error, 'max_attempts', v_job.max_attempts)),
      p_job, null, v_job.agent_slug, null);
  end if;
  return true;
end
$$;

-- DLQ: a job that was not retried on purpose says so first in its failure reason.
create or replace function public.actp_dlq_failure_reason(p_error jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select left(
    case when (p_error ->> 'retriable') = 'false'
         then format('not retried (%s): ', coalesce(nullif(p_error ->> 'code', ''), p_error ->> 'reason', 'non_retriable'))
         else '' end
      || coalesce(nullif(p_error ->> 'name', '') || ': ', '')
      || coalesce(nullif(p_error ->> 'message', ''), 'no error message was recorded')
      || case
           when nullif(p_error ->> 'step', '') is not null and nullif(p_error ->> 'where', '') is not null
             then format(' (step "%s", thrown at %s)', p_error ->> 'step', p_error ->> 'where')
           when nullif(p_error ->> 'step', '') is not null then format(' (step "%s")', p_error ->> 'step')
           when nullif(p_error ->> 'where', '') is not null then format(' (thrown at %s)', p_error ->> 'where')
           else ' (where it was thrown is unknown)'
         end,
    4000);
$$;

-- Submit -----------------------------------------------------------------------------------------

-- Whether a live worker serves the agent (registered with it, heart-beating within its threshold).
create or replace function public.actp_jobs_served(p_agent text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (
    select 1 from public.actp_worker_registrations w
     where w.status = 'alive' and p_agent = any (w.agents)
       and w.last_heartbeat_at >= now() - public.actp_worker_stale_after(w.heartbeat_interval_ms));
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.actp_worker_stale_beats()',
    'public.actp_worker_stale_after(int, int)',
    'public.actp_workers_register(text, text, int, text[], bigint, int)',
    'public.actp_jobs_requeue_pgboss(uuid[], text)',
    'public.actp_jobs_release(uuid[], text, text, text, boolean)',
    'public.actp_supervisor_tick(int)',
    'public.actp_workers_heartbeat(text, bigint, text, uuid[], uuid[], int, boolean)',
    'public.actp_jobs_start(uuid, text, int, text, int)',
    'public.actp_jobs_step_ordinal_lock(uuid)',
    'public.actp_jobs_step_begin(uuid, text, text, int, timestamptz)',
    'public.actp_jobs_step_record(uuid, text, text, int, timestamptz, jsonb, jsonb)',
    'public.actp_jobs_fail_attempt(uuid, text, int, jsonb, text, boolean, text, bigint)',
    'public.actp_dlq_failure_reason(jsonb)',
    'public.actp_jobs_served(text)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;
