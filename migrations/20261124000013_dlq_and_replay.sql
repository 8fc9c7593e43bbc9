-- DLQ and human review (PRD §4.11), replay and forensics (§4.14).
-- A job the runtime marks 'dead' becomes an actp_dlq row through a trigger, so no process of ours
-- has to be alive for it. Every review action is one function, one transaction, idempotent: the
-- DLQ row is locked first, so concurrent reviewers serialize and the second one sees the first's
-- result. New jobs are created only through public.actp_jobs_submit (the worker runtime's one
-- submitter), which writes the actp_jobs row, the pg-boss job and job.received together.

-- Review record ----------------------------------------------------------------------------------

alter table public.actp_dlq
  -- The structured last error ({message, name, where, step, code} as the runtime records it);
  -- failure_reason is its one-line rendering.
  add column error jsonb check (error is null or jsonb_typeof(error) = 'object'),
  add column review_note text check (review_note is null or length(review_note) between 1 and 2000),
  -- The corrected input a manual_fix replayed with; input_data stays the original.
  add column fixed_input jsonb,
  add constraint actp_dlq_fixed_input_only_for_fix check (fixed_input is null or resolution = 'manual_fix'),
  add constraint actp_dlq_replay_job_matches_resolution
    check (coalesce(resolution in ('replayed', 'manual_fix'), false) = (replay_job_id is not null));

-- Pending items by job type in keyset order (the list's filters); reviewed items by review time.
create index actp_dlq_pending_type_idx on public.actp_dlq (job_type, enqueued_at, id) where resolution is null;
create index actp_dlq_reviewed_idx on public.actp_dlq (reviewed_at, id) where resolution is not null;

-- A review is final and what was dead-lettered is evidence: neither is rewritten afterwards.
create or replace function public.actp_dlq_guard_update()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (new.original_job_id, new.job_type, new.input_data, new.failure_reason, new.retry_count, new.enqueued_at, new.error)
     is distinct from
     (old.original_job_id, old.job_type, old.input_data, old.failure_reason, old.retry_count, old.enqueued_at, old.error) then
    raise exception using errcode = 'P0001',
      message = format('dlq.immutable: the dead-lettered record of DLQ item %s cannot be changed', old.id);
  end if;
  if old.resolution is not null
     and (new.resolution, new.reviewed_by, new.reviewed_at, new.replay_job_id, new.fixed_input, new.review_note)
         is distinct from
         (old.resolution, old.reviewed_by, old.reviewed_at, old.replay_job_id, old.fixed_input, old.review_note) then
    raise exception using errcode = 'P0001',
      message = format('dlq.conflict: DLQ item %s was already resolved (%s by %s)', old.id, old.resolution, old.reviewed_by);
  end if;
  return new;
end
$$;

create trigger tg_actp_dlq__guard_update
  before update on public.actp_dlq
  for each row execute function public.actp_dlq_guard_update();

-- One line a reviewer can act on: what was thrown and where. The runtime's error carries the step
-- and the top stack frame ("where"): `HttpError: 503 (step "fetch", thrown at fetchPage (agent.ts:42:7))`.
create or replace function public.actp_dlq_failure_reason(p_error jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select left(
    coalesce(nullif(p_error ->> 'name', '') || ': ', '')
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

-- DLQ entry: status becoming 'dead' (retries exhausted). Security definer because the runtime may
-- write actp_jobs under any role, and the DLQ row must exist whoever did.
create or replace function public.actp_dlq_on_job_dead()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_error jsonb := new.error;
  v_step record;
  v_reason text;
  v_retries int := greatest(new.attempts - 1, 0);
  v_id uuid;
begin
  -- The runtime records the last error on the job; if it did not, the last failed step is the best
  -- evidence of what went wrong and where.
  if v_error is null or jsonb_typeof(v_error) <> 'object' or coalesce(v_error ->> 'message', '') = '' then
    select s.name, s.error into v_step
      from public.actp_job_steps s
     where s.job_id = new.id and s.status = 'failed'
     order by coalesce(s.finished_at, s.started_at) desc, s.ordinal desc
     limit 1;
    if found and v_step.error is not null then
      v_error := jsonb_build_object('step', v_step.name)
        || case when jsonb_typeof(v_step.error) = 'object' then v_step.error
                else jsonb_build_object('message', v_step.error #>> '{}') end;
    elsif jsonb_typeof(v_error) <> 'object' then
      v_error := null;
    end if;
  end if;
  v_reason := public.actp_dlq_failure_reason(v_error);

  insert into public.actp_dlq (original_job_id, job_type, input_data, failure_reason, retry_count, error)
  values (new.id, new.job_type, new.input, v_reason, v_retries, v_error)
  on conflict (original_job_id) do nothing
  returning id into v_id;

  if v_id is not null then
    perform public.actp_emit(
      'dlq.enqueued',
      jsonb_build_object(
        'dlq_id', v_id,
        'job_type', new.job_type,
        -- retries after the first attempt; attempts is the total the job was tried
        'retry_count', v_retries,
        'attempts', new.attempts,
        'failure_reason', left(v_reason, 1000),
        'step', v_error ->> 'step',
        'where', v_error ->> 'where'),
      new.id, null, new.agent_slug, null);
  end if;
  return null;
end
$$;
revoke all on function public.actp_dlq_on_job_dead() from public, anon, authenticated;

create trigger tg_actp_jobs__dead_to_dlq
  after insert or update of status on public.actp_jobs
  for each row when (new.status = 'dead')
  execute function public.actp_dlq_on_job_dead();

-- Review actions ---------------------------------------------------------------------------------

create or replace function public.actp_dlq_check_reviewer(p_reviewer text, p_note text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_reviewer is null or btrim(p_reviewer) = '' then
    raise exception using errcode = 'P0001',
      message = 'dlq.reviewer_required: a review action needs the reviewer who takes it';
  end if;
  if length(btrim(p_reviewer)) > 200 then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_reviewer: reviewer is longer than 200 characters';
  end if;
  if p_note is not null and (btrim(p_note) = '' or length(p_note) > 2000) then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_note: a note is 1 to 2000 characters';
  end if;
  return btrim(p_reviewer);
end
$$;

create or replace function public.actp_dlq_review_result(p_row public.actp_dlq, p_already boolean)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object(
    'dlq_id', p_row.id,
    'original_job_id', p_row.original_job_id,
    'resolution', p_row.resolution,
    'replay_job_id', p_row.replay_job_id,
    'reviewed_by', p_row.reviewed_by,
    'reviewed_at', p_row.reviewed_at,
    'note', p_row.review_note,
    -- true when this call found the item already resolved and changed nothing
    'already_resolved', p_already);
$$;

-- Shared by replay and manual_fix: lock, decide idempotently, submit, record, emit.
create or replace function public.actp_dlq_resolve_with_replay(
  p_dlq_id uuid,
  p_reviewer text,
  p_note text,
  p_resolution text,
  p_fixed_input jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_reviewer text := public.actp_dlq_check_reviewer(p_reviewer, p_note);
  v_row public.actp_dlq;
  v_agent text;
  v_input jsonb;
  v_new uuid;
begin
  -- The row lock is the idempotency: a concurrent second call waits here, then sees the resolution.
  select * into v_row from public.actp_dlq where id = p_dlq_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = format('dlq.not_found: no DLQ item "%s"', p_dlq_id);
  end if;

  if v_row.resolution is not null then
    if p_resolution = 'replayed' and v_row.resolution in ('replayed', 'manual_fix') then
      return public.actp_dlq_review_result(v_row, true);
    end if;
    if p_resolution = 'manual_fix' and v_row.resolution = 'manual_fix' and v_row.fixed_input = p_fixed_input then
      return public.actp_dlq_review_result(v_row, true);
    end if;
    raise exception using errcode = 'P0001',
      message = format('dlq.conflict: DLQ item %s was already resolved (%s by %s at %s)',
                       v_row.id, v_row.resolution, v_row.reviewed_by, v_row.reviewed_at);
  end if;

  select j.agent_slug into v_agent from public.actp_jobs j where j.id = v_row.original_job_id;
  v_input := case when p_resolution = 'manual_fix' then p_fixed_input else v_row.input_data end;
  v_new := public.actp_jobs_submit(v_agent, v_input, jsonb_build_object('replay_of', v_row.original_job_id, 'source', 'dlq'));

  update public.actp_dlq
     set resolution = p_resolution,
         reviewed_by = v_reviewer,
         reviewed_at = now(),
         replay_job_id = v_new,
         fixed_input = case when p_resolution = 'manual_fix' then p_fixed_input end,
         review_note = p_note
   where id = v_row.id
  returning * into v_row;

  perform public.actp_emit(
    'job.replayed',
    jsonb_build_object('original_job_id', v_row.original_job_id, 'new_job_id', v_new, 'from_step', null,
                       'requested_by', v_reviewer, 'dlq_id', v_row.id, 'input_fixed', p_resolution = 'manual_fix'),
    v_row.original_job_id, null, v_agent, null);
  perform public.actp_emit(
    'dlq.reviewed',
    jsonb_strip_nulls(jsonb_build_object('dlq_id', v_row.id, 'action', p_resolution, 'reviewed_by', v_reviewer,
                                         'note', p_note, 'new_job_id', v_new)),
    v_row.original_job_id, null, v_agent, null);
  return public.actp_dlq_review_result(v_row, false);
end
$$;

create or replace function public.actp_dlq_replay(p_dlq_id uuid, p_reviewer text, p_note text default null)
returns jsonb
language sql
set search_path = ''
as $$
  select public.actp_dlq_resolve_with_replay(p_dlq_id, p_reviewer, p_note, 'replayed', null);
$$;

-- The input is validated against the agent's input_schema by the TypeScript caller (the schema is
-- JSON Schema produced from the agent's zod schema); here it only has to be a JSON value.
create or replace function public.actp_dlq_manual_fix(p_dlq_id uuid, p_reviewer text, p_input jsonb, p_note text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
begin
  if p_input is null then
    raise exception using errcode = 'P0001', message = 'dlq.input_required: manual_fix needs the corrected input';
  end if;
  return public.actp_dlq_resolve_with_replay(p_dlq_id, p_reviewer, p_note, 'manual_fix', p_input);
end
$$;

create or replace function public.actp_dlq_discard(p_dlq_id uuid, p_reviewer text, p_note text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_reviewer text := public.actp_dlq_check_reviewer(p_reviewer, p_note);
  v_row public.actp_dlq;
  v_agent text;
begin
  select * into v_row from public.actp_dlq where id = p_dlq_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = format('dlq.not_found: no DLQ item "%s"', p_dlq_id);
  end if;
  if v_row.resolution = 'discarded' then
    return public.actp_dlq_review_result(v_row, true);
  elsif v_row.resolution is not null then
    raise exception using errcode = 'P0001',
      message = format('dlq.conflict: DLQ item %s was already resolved (%s by %s at %s, job %s)',
                       v_row.id, v_row.resolution, v_row.reviewed_by, v_row.reviewed_at, v_row.replay_job_id);
  end if;

  update public.actp_dlq
     set resolution = 'discarded', reviewed_by = v_reviewer, reviewed_at = now(), review_note = p_note
   where id = v_row.id
  returning * into v_row;

  select j.agent_slug into v_agent from public.actp_jobs j where j.id = v_row.original_job_id;
  perform public.actp_emit(
    'dlq.reviewed',
    jsonb_strip_nulls(jsonb_build_object('dlq_id', v_row.id, 'action', 'discarded', 'reviewed_by', v_reviewer, 'note', p_note)),
    v_row.original_job_id, null, v_agent, null);
  return public.actp_dlq_review_result(v_row, false);
end
$$;

-- Bulk replay of pending items matching {job_type?, from?, to?, limit?}, oldest first. Each item
-- runs in its own subtransaction, so one item that cannot be replayed (its agent disabled, say)
-- is reported in its result instead of undoing the others. Items another reviewer holds are skipped.
create or replace function public.actp_dlq_replay_bulk(p_filter jsonb, p_reviewer text, p_note text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_reviewer text := public.actp_dlq_check_reviewer(p_reviewer, p_note);
  v_filter jsonb := coalesce(p_filter, '{}'::jsonb);
  v_limit int;
  v_from timestamptz;
  v_to timestamptz;
  v_type text;
  v_item record;
  v_result jsonb;
  v_items jsonb := '[]'::jsonb;
  v_ok int := 0;
  v_failed int := 0;
  v_msg text;
  v_code text;
begin
  if jsonb_typeof(v_filter) <> 'object' then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_filter: the filter is an object {job_type?, from?, to?, limit?}';
  end if;
  begin
    v_type := v_filter ->> 'job_type';
    v_from := (v_filter ->> 'from')::timestamptz;
    v_to := (v_filter ->> 'to')::timestamptz;
    v_limit := coalesce((v_filter ->> 'limit')::int, 100);
  exception when others then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_filter: ' || sqlerrm;
  end;
  if v_limit < 1 or v_limit > 1000 then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_filter: limit is 1 to 1000';
  end if;
  if v_from is not null and v_to is not null and v_from > v_to then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_filter: from is after to';
  end if;

  for v_item in
    select d.id, d.original_job_id
      from public.actp_dlq d
     where d.resolution is null
       and (v_type is null or d.job_type = v_type)
       and (v_from is null or d.enqueued_at >= v_from)
       and (v_to is null or d.enqueued_at <= v_to)
     order by d.enqueued_at, d.id
     limit v_limit
       for update skip locked
  loop
    begin
      v_result := public.actp_dlq_resolve_with_replay(v_item.id, v_reviewer, p_note, 'replayed', null);
      v_items := v_items || jsonb_build_array(v_result || jsonb_build_object('ok', true));
      v_ok := v_ok + 1;
    exception when others then
      v_msg := sqlerrm;
      v_code := coalesce(substring(v_msg from '^([a-z_]+(?:\.[a-z_]+)+):'), 'dlq.replay_failed');
      v_items := v_items || jsonb_build_array(jsonb_build_object(
        'dlq_id', v_item.id, 'original_job_id', v_item.original_job_id, 'ok', false,
        'error', jsonb_build_object('code', v_code, 'message', v_msg)));
      v_failed := v_failed + 1;
    end;
  end loop;

  return jsonb_build_object('matched', v_ok + v_failed, 'replayed', v_ok, 'failed', v_failed, 'items', v_items);
end
$$;

-- Forensics --------------------------------------------------------------------------------------

create or replace function public.actp_forensics_ms(p interval)
returns bigint
language sql
immutable
set search_path = ''
as $$
  select round(extract(epoch from p) * 1000)::bigint;
$$;

-- A job's events and steps merged in time order. Offsets are from the job's creation (the SLA
-- clock's start); gap_ms is the silence before each entry (since everything earlier had ended),
-- which is where a stuck or waiting job shows.
-- Security invoker: RLS on jobs, steps and events decides who may read it.
create or replace function public.actp_inspect_timeline(p_job_id uuid)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  j public.actp_jobs;
  v_entries jsonb;
  v_summary jsonb;
  v_replays jsonb;
  v_dlq jsonb;
begin
  select * into j from public.actp_jobs where id = p_job_id;
  if not found then
    raise exception using errcode = 'P0001', message = format('forensics.not_found: no job "%s"', p_job_id);
  end if;

  with entries as (
    select e.created_at as at, e.created_at as ended_at, 0 as rank, e.seq as k,
           jsonb_build_object('kind', 'event', 'seq', e.seq, 'type', e.type, 'step', e.step_id,
                              'tool', e.tool_name, 'payload', e.payload) as body
      from public.actp_events e
     where e.job_id = p_job_id
    union all
    select s.started_at, coalesce(s.finished_at, s.started_at), 1, s.ordinal::bigint,
           jsonb_build_object('kind', 'step', 'ordinal', s.ordinal, 'name', s.name, 'status', s.status,
                              'attempt', s.attempt, 'reused_from_job', s.reused_from_job,
                              'input_hash', s.input_hash, 'output', s.output, 'error', s.error,
                              'finished_at', s.finished_at,
                              'duration_ms', public.actp_forensics_ms(s.finished_at - s.started_at))
      from public.actp_job_steps s
     where s.job_id = p_job_id
  ), ordered as (
    select body, at, rank, k,
           max(ended_at) over (order by at, rank, k rows between unbounded preceding and 1 preceding) as prev
      from entries
  )
  select coalesce(jsonb_agg(
           body || jsonb_build_object('at', at,
                                      'offset_ms', public.actp_forensics_ms(at - j.created_at),
                                      'gap_ms', greatest(coalesce(public.actp_forensics_ms(at - prev), 0), 0))
           order by at, rank, k), '[]'::jsonb)
    into v_entries
    from ordered;

  select jsonb_build_object(
           'events', (select count(*) from public.actp_events e where e.job_id = p_job_id),
           'steps', count(s.id),
           'steps_completed', count(s.id) filter (where s.status = 'completed'),
           'steps_failed', count(s.id) filter (where s.status = 'failed'),
           'steps_running', count(s.id) filter (where s.status = 'running'),
           'steps_reused', count(s.id) filter (where s.reused_from_job is not null),
           'step_ms', coalesce(sum(public.actp_forensics_ms(s.finished_at - s.started_at)), 0),
           'queue_ms', public.actp_forensics_ms(j.started_at - j.created_at),
           'run_ms', public.actp_forensics_ms(j.finished_at - j.started_at),
           'total_ms', public.actp_forensics_ms(j.finished_at - j.created_at))
    into v_summary
    from public.actp_job_steps s
   where s.job_id = p_job_id;

  select coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'status', r.status, 'from_step', r.replay_from_step,
                                               'created_at', r.created_at) order by r.created_at, r.id), '[]'::jsonb)
    into v_replays
    from public.actp_jobs r
   where r.replay_of = p_job_id;

  select jsonb_build_object('id', d.id, 'resolution', d.resolution, 'reviewed_by', d.reviewed_by,
                            'reviewed_at', d.reviewed_at, 'replay_job_id', d.replay_job_id,
                            'failure_reason', d.failure_reason)
    into v_dlq
    from public.actp_dlq d
   where d.original_job_id = p_job_id;

  return jsonb_build_object(
    'job', jsonb_build_object(
      'id', j.id, 'agent_slug', j.agent_slug, 'agent_version', j.agent_version, 'job_type', j.job_type,
      'status', j.status, 'attempts', j.attempts, 'max_attempts', j.max_attempts, 'worker_id', j.worker_id,
      'input', j.input, 'output', j.output, 'error', j.error, 'progress', j.progress,
      'replay_of', j.replay_of, 'replay_from_step', j.replay_from_step,
      'created_at', j.created_at, 'started_at', j.started_at, 'finished_at', j.finished_at),
    'summary', v_summary,
    'replays', v_replays,
    'dlq', v_dlq,
    'entries', v_entries);
end
$$;

-- Resolves a step given by name or by 1-based position; names win, so a step named "2" is found.
create or replace function public.actp_resolve_job_step(p_job_id uuid, p_step text)
returns table (ordinal int, name text, status text)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_steps text;
begin
  return query select s.ordinal, s.name, s.status from public.actp_job_steps s where s.job_id = p_job_id and s.name = p_step;
  if found then return; end if;
  if p_step ~ '^[0-9]{1,6}$' then
    return query
      select x.ordinal, x.name, x.status
        from (select s.ordinal, s.name, s.status, row_number() over (order by s.ordinal) as n
                from public.actp_job_steps s where s.job_id = p_job_id) x
       where x.n = p_step::int;
    if found then return; end if;
  end if;
  select string_agg(format('%s. %s', n, sname), ', ' order by n) into v_steps
    from (select s.name as sname, row_number() over (order by s.ordinal) as n
            from public.actp_job_steps s where s.job_id = p_job_id) x;
  raise exception using errcode = 'P0001',
    message = format('forensics.unknown_step: job %s has no step "%s" (its steps: %s)', p_job_id, p_step, coalesce(v_steps, 'none'));
end
$$;

-- Fork a finished job from a step (DBOS fork / Inngest rerun-from-step): the new job, linked by
-- replay_of and replay_from_step, gets the same input; the runtime's ctx.step reuses the recorded
-- outputs of the steps before from_step and runs the rest.
create or replace function public.actp_replay_job(p_job_id uuid, p_from_step text default null, p_requested_by text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  j public.actp_jobs;
  v_step record;
  v_from text;
  v_unfinished text;
  v_reused jsonb := '[]'::jsonb;
  v_new uuid;
  v_by text := coalesce(nullif(btrim(p_requested_by), ''), 'service_role');
begin
  -- Locked so a concurrent status change cannot slip between the check and the fork.
  select * into j from public.actp_jobs where id = p_job_id for share;
  if not found then
    raise exception using errcode = 'P0001', message = format('forensics.not_found: no job "%s"', p_job_id);
  end if;
  if j.status in ('queued', 'running', 'retrying') then
    raise exception using errcode = 'P0001',
      message = format('forensics.conflict: job %s is still %s; replay it once it has finished', j.id, j.status);
  end if;
  if length(v_by) > 200 then
    raise exception using errcode = 'P0001', message = 'forensics.invalid_requester: requested_by is longer than 200 characters';
  end if;

  if p_from_step is not null then
    select * into v_step from public.actp_resolve_job_step(j.id, p_from_step);
    v_from := v_step.name;
    -- Only completed steps have an output to reuse.
    select string_agg(format('%s (%s)', s.name, s.status), ', ' order by s.ordinal) into v_unfinished
      from public.actp_job_steps s
     where s.job_id = j.id and s.ordinal < v_step.ordinal and s.status <> 'completed';
    if v_unfinished is not null then
      raise exception using errcode = 'P0001',
        message = format('forensics.step_not_reusable: cannot replay job %s from "%s": earlier steps did not complete: %s',
                         j.id, v_step.name, v_unfinished);
    end if;
    select coalesce(jsonb_agg(s.name order by s.ordinal), '[]'::jsonb) into v_reused
      from public.actp_job_steps s where s.job_id = j.id and s.ordinal < v_step.ordinal;
  end if;

  v_new := public.actp_jobs_submit(
    j.agent_slug, j.input,
    jsonb_strip_nulls(jsonb_build_object('replay_of', j.id, 'replay_from_step', v_from, 'source', 'replay')));

  perform public.actp_emit(
    'job.replayed',
    jsonb_build_object('original_job_id', j.id, 'new_job_id', v_new, 'from_step', v_from,
                       'requested_by', v_by, 'reused_steps', v_reused),
    j.id, null, j.agent_slug, null);

  return jsonb_build_object('job_id', v_new, 'replay_of', j.id, 'from_step', v_from,
                            'reused_steps', v_reused, 'agent_slug', j.agent_slug);
end
$$;

-- Privileges: review and replay are service-role actions; the timeline is readable where the
-- dashboard reads (RLS still applies inside, as the function is security invoker).
revoke all on function public.actp_dlq_guard_update() from public, anon, authenticated;
revoke all on function public.actp_dlq_check_reviewer(text, text) from public, anon, authenticated;
revoke all on function public.actp_dlq_review_result(public.actp_dlq, boolean) from public, anon, authenticated;
revoke all on function public.actp_dlq_resolve_with_replay(uuid, text, text, text, jsonb) from public, anon, authenticated;
revoke all on function public.actp_dlq_replay(uuid, text, text) from public, anon, authenticated;
revoke all on function public.actp_dlq_manual_fix(uuid, text, jsonb, text) from public, anon, authenticated;
revoke all on function public.actp_dlq_discard(uuid, text, text) from public, anon, authenticated;
revoke all on function public.actp_dlq_replay_bulk(jsonb, text, text) from public, anon, authenticated;
revoke all on function public.actp_replay_job(uuid, text, text) from public, anon, authenticated;
revoke all on function public.actp_resolve_job_step(uuid, text) from public, anon;
revoke all on function public.actp_inspect_timeline(uuid) from public, anon;
grant execute on function
  public.actp_dlq_check_reviewer(text, text),
  public.actp_dlq_review_result(public.actp_dlq, boolean),
  public.actp_dlq_resolve_with_replay(uuid, text, text, text, jsonb),
  public.actp_dlq_replay(uuid, text, text),
  public.actp_dlq_manual_fix(uuid, text, jsonb, text),
  public.actp_dlq_discard(uuid, text, text),
  public.actp_dlq_replay_bulk(jsonb, text, text),
  public.actp_replay_job(uuid, text, text),
  public.actp_resolve_job_step(uuid, text),
  public.actp_inspect_timeline(uuid)
  to service_role;
grant execute on function public.actp_inspect_timeline(uuid), public.actp_resolve_job_step(uuid, text) to authenticated;
