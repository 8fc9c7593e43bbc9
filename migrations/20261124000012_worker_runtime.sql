-- Job runtime (issue 4, PRD §4.13 and the job/run events of §4.5): the one submit function every
-- submitter uses, the worker's per-job statements (start, durable steps, progress, settle), cancel,
-- worker registrations and heartbeats, and the supervisor tick.
--
-- pg-boss 12 owns the queue (schema pgboss, installed by pg-boss itself when a worker or the dev
-- process starts it). These functions write pg-boss's tables exactly the way its own plans do
-- (plans.insertJobs, cancelJobs, failJobsBody of pg-boss 12.38), so a job submitted here is a job
-- pg-boss retries, expires, heartbeats and dead-letters like any it created itself. Every pgboss
-- statement is dynamic SQL: the schema does not exist when this migration runs.

-- Queue settings --------------------------------------------------------------------------------

-- The options every actp agent queue is created with (pg-boss createQueue options). A test keeps
-- this equal to ACTP_QUEUE_DEFAULTS in shared/jobs/queue.ts, which the worker passes to createQueue.
create or replace function public.actp_jobs_queue_defaults()
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'policy', 'standard',
    'retryLimit', 2,
    'retryDelay', 1,
    'retryBackoff', true,
    'retryDelayMax', 300,
    'expireInSeconds', 900,
    'heartbeatSeconds', 30,
    'deadLetter', 'actp.dlq',
    'notify', true
  );
$$;

create or replace function public.actp_jobs_queue_name(p_agent text)
returns text
language sql
immutable
set search_path = ''
as $$
  select 'actp.agent.' || p_agent;
$$;

create or replace function public.actp_jobs_require_pgboss()
returns void
language plpgsql
set search_path = ''
as $$
begin
  if to_regclass('pgboss.queue') is null or to_regprocedure('pgboss.create_queue(text, jsonb)') is null then
    raise exception using
      errcode = 'P0001',
      message = 'jobs.queue_unavailable: the pg-boss schema is not installed in this database; start a worker '
                || '(`actp worker <module>`) or the dev process (`npm start`) once so pg-boss creates it';
  end if;
end
$$;

-- Creates the dead-letter queue and the agent's queue when missing, under pg-boss's own advisory
-- lock for create-queue (plans.advisoryLockKey(schema, 'create-queue')), so it serialises with
-- pg-boss's createQueue. An existing queue is left as it is: its options belong to the worker.
create or replace function public.actp_jobs_ensure_queue(p_agent text)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_queue text := public.actp_jobs_queue_name(p_agent);
  v_defaults jsonb := public.actp_jobs_queue_defaults();
  v_dlq text := v_defaults ->> 'deadLetter';
begin
  perform public.actp_jobs_require_pgboss();
  if exists (select 1 from pgboss.queue where name = v_queue) then
    return v_queue;
  end if;
  perform pg_advisory_xact_lock(
    ('x' || encode(sha224((current_database() || '.pgboss.pgboss' || 'create-queue')::bytea), 'hex'))::bit(64)::bigint);
  perform pgboss.create_queue(v_dlq, jsonb_build_object('policy', 'standard', 'retentionSeconds', 1209600));
  perform pgboss.create_queue(v_queue, v_defaults);
  return v_queue;
end
$$;

-- Submit ----------------------------------------------------------------------------------------

-- The one way a job is created (jobs function, CLI, SDK, replay, DLQ replay): in one transaction the
-- agent is checked, the pg-boss job and actp's record are inserted with the same id, and
-- job.received is emitted. Input validation against the agent's schema happens in TypeScript first.
-- Options: priority int, start_after (ISO timestamp, or a number of seconds from now), retry_limit
-- int, expire_in_seconds int, singleton_key text, singleton_seconds int, replay_of uuid,
-- replay_from_step text, source text.
create or replace function public.actp_jobs_submit(p_agent text, p_input jsonb, p_options jsonb default '{}'::jsonb)
returns uuid
language plpgsql
security definer
set search_path = ''
as $$
declare
  o jsonb := coalesce(p_options, '{}'::jsonb);
  v_agent public.actp_agent_definitions%rowtype;
  v_queue text;
  v_table text;
  v_notify boolean;
  v_id uuid := gen_random_uuid();
  v_inserted uuid;
  v_start timestamptz;
  v_retry_limit int;
  v_replay_of uuid;
  v_from_step text;
begin
  if jsonb_typeof(o) is distinct from 'object' then
    raise exception using errcode = 'P0001', message = 'jobs.invalid_options: options must be a JSON object';
  end if;
  if p_input is null then
    raise exception using errcode = 'P0001', message = 'jobs.invalid_input: input is required (use {} for none)';
  end if;

  select * into v_agent from public.actp_agent_definitions where slug = p_agent;
  if not found then
    raise exception using errcode = 'P0001', message = format('jobs.agent_not_found: no agent "%s" is registered', p_agent);
  end if;
  if not v_agent.enabled then
    raise exception using errcode = 'P0001', message = format('jobs.agent_disabled: agent "%s" is disabled; enable it before submitting jobs', p_agent);
  end if;

  v_replay_of := (o ->> 'replay_of')::uuid;
  v_from_step := o ->> 'replay_from_step';
  if v_from_step is not null and v_replay_of is null then
    raise exception using errcode = 'P0001', message = 'jobs.invalid_options: replay_from_step needs replay_of';
  end if;
  if v_replay_of is not null then
    if not exists (select 1 from public.actp_jobs where id = v_replay_of) then
      raise exception using errcode = 'P0001', message = format('jobs.replay_source_not_found: no job %s to replay', v_replay_of);
    end if;
    if v_from_step is not null
       and not exists (select 1 from public.actp_job_steps where job_id = v_replay_of and name = v_from_step) then
      raise exception using errcode = 'P0001',
        message = format('jobs.replay_step_not_found: job %s has no step "%s"', v_replay_of, v_from_step);
    end if;
  end if;

  v_queue := public.actp_jobs_ensure_queue(p_agent);
  select q.table_name, q.notify into v_table, v_notify from pgboss.queue q where q.name = v_queue;

  v_start := case
    when o -> 'start_after' is null or jsonb_typeof(o -> 'start_after') = 'null' then null
    when jsonb_typeof(o -> 'start_after') = 'number' then now() + (o ->> 'start_after')::numeric * interval '1 second'
    else (o ->> 'start_after')::timestamptz
  end;

  -- plans.insertJobs for one job: queue settings fill what the options leave out.
  execute format($sql$
    insert into pgboss.%I (
      id, name, data, priority, start_after, created_on, singleton_key, singleton_on,
      expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff,
      retry_delay_max, policy, dead_letter, heartbeat_seconds, blocked, blocking, pending_dependencies
    )
    select
      $1, q.name, $2, coalesce($3, 0), j.start_after, pgboss.job_now(), $5,
      case when $6::int is not null
        then 'epoch'::timestamp + '1s'::interval * ($6::float8 * floor(date_part('epoch', pgboss.job_now()) / $6::float8))
      end,
      coalesce($7, q.expire_seconds), q.deletion_seconds,
      j.start_after + q.retention_seconds * interval '1s',
      coalesce($8, q.retry_limit), q.retry_delay, q.retry_backoff, q.retry_delay_max, q.policy,
      q.dead_letter, q.heartbeat_seconds, false, false, 0
    from (select coalesce($4::timestamptz, pgboss.job_now()) as start_after) j
    join pgboss.queue q on q.name = $9
    on conflict do nothing
    returning id, retry_limit, start_after <= pgboss.job_now()
  $sql$, v_table)
  into v_inserted, v_retry_limit, v_notify
  using v_id, jsonb_build_object('agent', p_agent), (o ->> 'priority')::int, v_start,
        o ->> 'singleton_key', (o ->> 'singleton_seconds')::int, (o ->> 'expire_in_seconds')::int,
        (o ->> 'retry_limit')::int, v_queue;

  if v_inserted is null then
    raise exception using errcode = 'P0001',
      message = format('jobs.duplicate: a job for agent "%s" with singleton key "%s" already exists in this slot',
                       p_agent, o ->> 'singleton_key');
  end if;

  -- Wake listening workers, as insertJobs does for a notify-enabled queue with a runnable job.
  if v_notify and (select q.notify from pgboss.queue q where q.name = v_queue) then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;

  insert into public.actp_jobs (id, agent_slug, agent_version, job_type, input, status, max_attempts, replay_of, replay_from_step)
  values (v_id, p_agent, v_agent.version, p_agent, p_input, 'queued', v_retry_limit + 1, v_replay_of, v_from_step);

  perform public.actp_emit('job.received',
    jsonb_strip_nulls(jsonb_build_object(
      'job_type', p_agent,
      'input_hash', 'sha256:' || encode(sha256(convert_to(p_input::text, 'UTF8')), 'hex'),
      'priority', coalesce((o ->> 'priority')::int, 0),
      'source', coalesce(o ->> 'source', 'api'),
      'replay_of', v_replay_of,
      'replay_from_step', v_from_step)),
    v_id, null, p_agent, null);
  return v_id;
end
$$;

-- Cancel ----------------------------------------------------------------------------------------

-- pg-boss's cancelJobs on the job plus actp's record, in one transaction. A running handler learns
-- of it from its worker's heartbeat (actp_workers_heartbeat returns the jobs it must abort).
create or replace function public.actp_jobs_cancel(p_job uuid, p_by text default null, p_reason text default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job public.actp_jobs%rowtype;
  v_table text;
begin
  select * into v_job from public.actp_jobs where id = p_job for update;
  if not found then
    raise exception using errcode = 'P0001', message = format('jobs.job_not_found: no job %s', p_job);
  end if;
  if v_job.status not in ('queued', 'running', 'retrying') then
    raise exception using errcode = 'P0001',
      message = format('jobs.not_cancellable: job %s is already %s', p_job, v_job.status);
  end if;
  perform public.actp_jobs_require_pgboss();
  select q.table_name into v_table from pgboss.queue q where q.name = public.actp_jobs_queue_name(v_job.agent_slug);
  if v_table is not null then
    execute format($sql$
      update pgboss.%I set completed_on = pgboss.job_now(), state = 'cancelled'
      where name = $1 and id = $2 and state < 'completed'
    $sql$, v_table) using public.actp_jobs_queue_name(v_job.agent_slug), p_job;
  end if;
  update public.actp_jobs set status = 'cancelled', finished_at = now() where id = p_job;
  perform public.actp_emit('job.cancelled',
    jsonb_strip_nulls(jsonb_build_object('reason', coalesce(nullif(p_reason, ''), 'cancelled by request'), 'cancelled_by', p_by)),
    p_job, null, v_job.agent_slug, null);
  return 'cancelled';
end
$$;

-- Worker: one statement per lifecycle change --------------------------------------------------

-- A worker claimed the pg-boss job: actp's record becomes running, job.dispatched and run.claimed
-- are emitted, a replay copies the steps before its from-step, and the job's input and completed
-- steps come back, so the handler needs no further read. Returns null when the job must not run
-- (cancelled, finished, or unknown).
create or replace function public.actp_jobs_start(p_job uuid, p_worker text, p_attempt int, p_queue text, p_lease_seconds int)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_job public.actp_jobs%rowtype;
  v_from_ordinal int;
begin
  update public.actp_jobs
     set status = 'running', attempts = p_attempt, worker_id = p_worker,
         started_at = coalesce(started_at, now()), finished_at = null
   where id = p_job and status in ('queued', 'retrying', 'running')
  returning * into v_job;
  if not found then
    return null;
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

-- Begins a durable step. Returns {"status":"completed","output":...} when the step already completed
-- (a retry, a crash recovery or a replay copy), else records it as running and returns
-- {"status":"running"}. Ordinals follow first-run order; a re-run keeps its ordinal.
create or replace function public.actp_jobs_step_begin(p_job uuid, p_name text, p_input_hash text, p_attempt int)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_status text;
  v_output jsonb;
begin
  insert into public.actp_job_steps as s (job_id, ordinal, name, input_hash, status, attempt)
  values (p_job,
          coalesce((select max(x.ordinal) + 1 from public.actp_job_steps x where x.job_id = p_job), 0),
          p_name, p_input_hash, 'running', greatest(p_attempt, 1))
  on conflict (job_id, name) do update
     set status = 'running', input_hash = excluded.input_hash, attempt = excluded.attempt,
         error = null, output = null, started_at = now(), finished_at = null
   where s.status <> 'completed'
  returning s.status into v_status;
  if v_status is null then
    select s.output into v_output from public.actp_job_steps s where s.job_id = p_job and s.name = p_name;
    return jsonb_build_object('status', 'completed', 'output', v_output);
  end if;
  return jsonb_build_object('status', 'running');
end
$$;

create or replace function public.actp_jobs_step_finish(p_job uuid, p_name text, p_output jsonb, p_error jsonb)
returns void
language sql
set search_path = ''
as $$
  update public.actp_job_steps
     set status = case when p_error is null then 'completed' else 'failed' end,
         output = case when p_error is null then p_output end,
         error = p_error,
         finished_at = now()
   where job_id = p_job and name = p_name and status = 'running';
$$;

-- A step that finished before anyone needed to see it running is recorded in one statement: the
-- worker only sends actp_jobs_step_begin for a step still going after a moment, so short steps cost
-- one round trip instead of two. A step another attempt already completed is never overwritten;
-- its recorded output is returned instead, and that is what the caller must use.
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

create or replace function public.actp_jobs_progress(p_job uuid, p_progress jsonb, p_step text default null)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_agent text;
begin
  update public.actp_jobs set progress = p_progress where id = p_job and status = 'running'
  returning agent_slug into v_agent;
  if found then
    perform public.actp_emit('job.progress', p_progress, p_job, p_step, v_agent, null);
  end if;
end
$$;

-- Settles a successful attempt. Fenced on worker and attempt: a worker the supervisor gave up on
-- cannot overwrite the attempt that replaced it.
create or replace function public.actp_jobs_complete(p_job uuid, p_worker text, p_attempt int, p_output jsonb)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_job public.actp_jobs%rowtype;
begin
  update public.actp_jobs set status = 'completed', output = p_output, error = null, finished_at = now()
   where id = p_job and status = 'running' and worker_id = p_worker and attempts = p_attempt
  returning * into v_job;
  if not found then
    return false;
  end if;
  perform public.actp_emit('job.completed',
    jsonb_build_object('duration_ms', greatest(0, floor(extract(epoch from (now() - v_job.created_at)) * 1000))::bigint,
                       'attempt', p_attempt,
                       'output_hash', 'sha256:' || encode(sha256(convert_to(coalesce(p_output, 'null'::jsonb)::text, 'UTF8')), 'hex')),
    p_job, null, v_job.agent_slug, null);
  return true;
end
$$;

-- Settles a failed attempt: retrying (pg-boss retries it) or dead (pg-boss dead-letters it; the DLQ
-- trigger on status 'dead' records it). p_timeout_ms is set when the attempt ran out of time.
create or replace function public.actp_jobs_fail(
  p_job uuid, p_worker text, p_attempt int, p_error jsonb, p_will_retry boolean,
  p_delay_ms bigint default 0, p_timeout_ms bigint default null
)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_job public.actp_jobs%rowtype;
begin
  update public.actp_jobs
     set status = case when p_will_retry then 'retrying' else 'dead' end,
         error = p_error,
         finished_at = case when p_will_retry then null else now() end
   where id = p_job and status = 'running' and worker_id = p_worker and attempts = p_attempt
  returning * into v_job;
  if not found then
    return false;
  end if;
  if p_timeout_ms is not null then
    perform public.actp_emit('job.timed_out',
      jsonb_build_object('timeout_ms', p_timeout_ms, 'attempt', p_attempt, 'will_retry', p_will_retry,
                         'elapsed_ms', greatest(0, floor(extract(epoch from (now() - v_job.started_at)) * 1000))::bigint),
      p_job, null, v_job.agent_slug, null);
  end if;
  perform public.actp_emit('job.failed',
    jsonb_strip_nulls(jsonb_build_object('error', p_error, 'attempt', p_attempt, 'will_retry', p_will_retry,
                                         'max_attempts', v_job.max_attempts)),
    p_job, p_error ->> 'step', v_job.agent_slug, null);
  if p_will_retry then
    perform public.actp_emit('job.retrying',
      jsonb_strip_nulls(jsonb_build_object('attempt', p_attempt + 1, 'delay_ms', greatest(p_delay_ms, 0),
                                           'error', p_error, 'max_attempts', v_job.max_attempts)),
      p_job, null, v_job.agent_slug, null);
  end if;
  return true;
end
$$;

-- Worker registrations ------------------------------------------------------------------------

create or replace function public.actp_workers_register(p_worker text, p_host text, p_pid int, p_agents text[], p_rss bigint)
returns void
language sql
set search_path = ''
as $$
  insert into public.actp_worker_registrations (worker_id, host, pid, agents, rss_bytes, status)
  values (p_worker, p_host, p_pid, coalesce(p_agents, '{}'), p_rss, 'alive')
  on conflict (worker_id) do update
     set host = excluded.host, pid = excluded.pid, agents = excluded.agents, rss_bytes = excluded.rss_bytes,
         status = 'alive', started_at = now(), last_heartbeat_at = now(), stopped_at = null;
$$;

-- One round trip per heartbeat: records liveness and RSS, emits run.lease_renewed for the jobs whose
-- lease the worker renews this time, and returns the running jobs the worker must abort (cancelled,
-- or given to another worker by the supervisor).
create or replace function public.actp_workers_heartbeat(
  p_worker text, p_rss bigint, p_status text, p_running uuid[], p_renew uuid[], p_lease_seconds int
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

  select coalesce(array_agg(r.id), '{}') into v_abort
    from unnest(coalesce(p_running, '{}'::uuid[])) as r(id)
    left join public.actp_jobs j on j.id = r.id
   where j.id is null or j.status <> 'running' or j.worker_id is distinct from p_worker;
  return v_abort;
end
$$;

-- Supervisor (§4.13) ----------------------------------------------------------------------------

-- Hands active pg-boss jobs back to their queue the way pg-boss's own supervisor does when a job
-- expires or loses its heartbeat (plans.failJobsBody): the row is re-inserted as 'retry' while
-- retries remain, else as 'failed' with a copy in its dead-letter queue. Returns each job's new state.
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
          case when retry_count >= retry_limit then start_after
               when not retry_backoff then pgboss.job_now() + retry_delay * interval '1s'
               else pgboss.job_now() + least(retry_delay_max, greatest(retry_delay, 1) * (
                      2 ^ least(16, retry_count + 1) / 2 + 2 ^ least(16, retry_count + 1) / 2 * random())) * interval '1s'
          end,
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
      )
      select r.id, r.state::text from reinserted r
    $sql$, t.table_name) using t.name, p_jobs, p_message;
  end loop;
end
$$;

-- Requeues actp jobs whose attempt was abandoned and settles actp's record the way the worker would
-- have: retrying when pg-boss retries it, dead when it was dead-lettered.
create or replace function public.actp_jobs_release(p_jobs uuid[], p_message text, p_code text, p_action text, p_timed_out boolean)
returns int
language plpgsql
set search_path = ''
as $$
declare
  r record;
  n int := 0;
  v_state text;
  v_error jsonb := jsonb_build_object('message', p_message, 'code', p_code, 'where', 'actp_supervisor_tick');
begin
  for r in
    select j.* from public.actp_jobs j where j.id = any(p_jobs) and j.status = 'running' for update
  loop
    select x.state into v_state from public.actp_jobs_requeue_pgboss(array[r.id], p_message) x limit 1;
    if v_state is null then
      -- pg-boss already moved the job on (its own supervisor, or a settle): read where it is now.
      execute 'select state::text from pgboss.job where name = $1 and id = $2'
        into v_state using public.actp_jobs_queue_name(r.agent_slug), r.id;
    end if;
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
        jsonb_strip_nulls(jsonb_build_object('attempt', greatest(r.attempts, 1) + 1, 'delay_ms', 0, 'error', v_error,
                                             'max_attempts', r.max_attempts)),
        r.id, null, r.agent_slug, null);
    elsif v_state = 'failed' then
      perform public.actp_emit('job.failed',
        jsonb_strip_nulls(jsonb_build_object('error', v_error, 'attempt', greatest(r.attempts, 1), 'will_retry', false,
                                             'max_attempts', r.max_attempts)),
        r.id, null, r.agent_slug, null);
    end if;
    n := n + 1;
  end loop;
  return n;
end
$$;

-- The §4.13 supervisor, run every minute from actp_schedules: marks workers whose heartbeats stopped
-- as dead (heartbeat.stale), releases and requeues the jobs they held, and releases and requeues
-- jobs held past their timeout (agent.stalled). The stale threshold defaults to the setting
-- actp.worker_stale_seconds (alter database ... set actp.worker_stale_seconds = 60), else 30 s.
create or replace function public.actp_supervisor_tick(p_stale_seconds int default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_stale int := coalesce(p_stale_seconds, nullif(current_setting('actp.worker_stale_seconds', true), '')::int, 30);
  v_dead text[];
  v_orphans uuid[];
  v_expired uuid[];
  v_released int := 0;
  v_timed_out int := 0;
begin
  with stale as (
    update public.actp_worker_registrations w
       set status = 'dead', stopped_at = now()
     where w.status in ('alive', 'draining') and w.last_heartbeat_at < now() - v_stale * interval '1s'
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

  -- Every job still running under a worker that is not alive: the dead ones just found and any
  -- left behind by an earlier tick or a recycled worker that did not settle them.
  select coalesce(array_agg(j.id), '{}') into v_orphans
    from public.actp_jobs j
    join public.actp_worker_registrations w on w.worker_id = j.worker_id
   where j.status = 'running' and w.status in ('dead', 'recycled');
  if cardinality(v_orphans) > 0 then
    v_released := public.actp_jobs_release(v_orphans, 'worker stopped heartbeating; claim released and job requeued',
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

insert into public.actp_schedules (name, cron_expr, command, description, critical)
values (
  'actp:supervisor:tick',
  '* * * * *',
  'select public.actp_supervisor_tick()',
  'Marks workers with stale heartbeats dead and requeues their jobs and jobs held past their timeout (PRD §4.13).',
  true
)
on conflict (name) do nothing;

-- Privileges: service_role only; the worker connects with the database URL's own role.
do $$
declare
  f text;
begin
  foreach f in array array[
    'public.actp_jobs_queue_defaults()',
    'public.actp_jobs_queue_name(text)',
    'public.actp_jobs_require_pgboss()',
    'public.actp_jobs_ensure_queue(text)',
    'public.actp_jobs_submit(text, jsonb, jsonb)',
    'public.actp_jobs_cancel(uuid, text, text)',
    'public.actp_jobs_start(uuid, text, int, text, int)',
    'public.actp_jobs_step_begin(uuid, text, text, int)',
    'public.actp_jobs_step_finish(uuid, text, jsonb, jsonb)',
    'public.actp_jobs_progress(uuid, jsonb, text)',
    'public.actp_jobs_complete(uuid, text, int, jsonb)',
    'public.actp_jobs_fail(uuid, text, int, jsonb, boolean, bigint, bigint)',
    'public.actp_workers_register(text, text, int, text[], bigint)',
    'public.actp_workers_heartbeat(text, bigint, text, uuid[], uuid[], int)',
    'public.actp_jobs_requeue_pgboss(uuid[], text)',
    'public.actp_jobs_release(uuid[], text, text, text, boolean)',
    'public.actp_supervisor_tick(int)'
  ]
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;
