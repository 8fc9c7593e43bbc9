-- Issue 9, submit in one round trip: a submitter that validated the input against an agent version
-- it read earlier (cached for a few seconds) passes that version; if the agent changed since, the
-- database refuses (jobs.agent_changed) and the submitter reads the agent again. So the agent lookup
-- is not a round trip per job any more, and a stale schema can never let an input through.

drop function public.actp_jobs_enqueue(text, jsonb, jsonb);
create function public.actp_jobs_enqueue(
  p_agent text, p_input jsonb, p_options jsonb default '{}'::jsonb, p_expected_version int default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  o jsonb := coalesce(p_options, '{}'::jsonb);
  v_agent public.actp_agent_definitions%rowtype;
  v_queue text := 'actp.agent.' || p_agent;
  q pgboss.queue%rowtype;
  v_id uuid := gen_random_uuid();
  v_inserted uuid;
  v_runnable boolean;
  v_start timestamptz;
  v_retry_limit int;
  v_replay_of uuid;
  v_from_step text;
  v_warning text;
  v_singleton int;
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
  if p_expected_version is not null and v_agent.version <> p_expected_version then
    raise exception using errcode = 'P0001',
      message = format('jobs.agent_changed: agent "%s" is at version %s, the input was validated against version %s',
                       p_agent, v_agent.version, p_expected_version);
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

  select * into q from pgboss.queue where name = v_queue;
  if not found then
    perform public.actp_jobs_ensure_queue(p_agent);
    select * into q from pgboss.queue where name = v_queue;
  end if;

  v_start := case
    when o -> 'start_after' is null or jsonb_typeof(o -> 'start_after') = 'null' then pgboss.job_now()
    when jsonb_typeof(o -> 'start_after') = 'number' then now() + (o ->> 'start_after')::numeric * interval '1 second'
    else (o ->> 'start_after')::timestamptz
  end;
  v_singleton := (o ->> 'singleton_seconds')::int;

  -- plans.insertJobs for one job: queue settings fill what the options leave out.
  insert into pgboss.job (
    id, name, data, priority, start_after, created_on, singleton_key, singleton_on,
    expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff,
    retry_delay_max, policy, dead_letter, heartbeat_seconds, blocked, blocking, pending_dependencies
  )
  values (
    v_id, q.name, jsonb_build_object('agent', p_agent), coalesce((o ->> 'priority')::int, 0), v_start, pgboss.job_now(),
    o ->> 'singleton_key',
    case when v_singleton is not null
      then 'epoch'::timestamp + '1s'::interval * (v_singleton::float8 * floor(date_part('epoch', pgboss.job_now()) / v_singleton::float8))
    end,
    coalesce((o ->> 'expire_in_seconds')::int, q.expire_seconds), q.deletion_seconds,
    v_start + q.retention_seconds * interval '1s',
    coalesce((o ->> 'retry_limit')::int, q.retry_limit), q.retry_delay, q.retry_backoff, q.retry_delay_max, q.policy,
    q.dead_letter, q.heartbeat_seconds, false, false, 0
  )
  on conflict do nothing
  returning id, retry_limit, start_after <= pgboss.job_now() into v_inserted, v_retry_limit, v_runnable;

  if v_inserted is null then
    raise exception using errcode = 'P0001',
      message = format('jobs.duplicate: a job for agent "%s" with singleton key "%s" already exists in this slot',
                       p_agent, o ->> 'singleton_key');
  end if;

  -- Wake listening workers, as insertJobs does for a notify-enabled queue with a runnable job.
  if v_runnable and q.notify then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;

  insert into public.actp_jobs (id, agent_slug, agent_version, job_type, input, status, max_attempts, replay_of, replay_from_step)
  values (v_id, p_agent, v_agent.version, p_agent, p_input, 'queued', v_retry_limit + 1, v_replay_of, v_from_step);

  if not public.actp_jobs_served(p_agent) then
    v_warning := format('no live worker serves agent "%s": the job stays queued until one starts (actp worker <module>)', p_agent);
  end if;

  perform public.actp_emit('job.received',
    jsonb_strip_nulls(jsonb_build_object(
      'job_type', p_agent,
      'input_hash', 'sha256:' || encode(sha256(convert_to(p_input::text, 'UTF8')), 'hex'),
      'priority', coalesce((o ->> 'priority')::int, 0),
      'source', coalesce(o ->> 'source', 'api'),
      'replay_of', v_replay_of,
      'replay_from_step', v_from_step,
      'warning', v_warning)),
    v_id, null, p_agent, null);
  return jsonb_strip_nulls(jsonb_build_object('id', v_id, 'status', 'queued', 'warning', v_warning));
end
$$;

create or replace function public.actp_jobs_submit(p_agent text, p_input jsonb, p_options jsonb default '{}'::jsonb)
returns uuid
language sql
security definer
set search_path = ''
as $$
  select (public.actp_jobs_enqueue(p_agent, p_input, p_options, null) ->> 'id')::uuid;
$$;

revoke all on function public.actp_jobs_enqueue(text, jsonb, jsonb, int) from public, anon, authenticated;
grant execute on function public.actp_jobs_enqueue(text, jsonb, jsonb, int) to service_role;
