-- Issue 8, item 1: actions record who acted from the token, never from the request body.
-- reviewed_by (DLQ), decided_by (approvals), cancelled_by (jobs) and requested_by (replays) are
-- public.actp_caller_actor(): "operator:<sub> <email>" for an operator's JWT (the operator routes run
-- with the service role's privileges and the caller's claims, functions/_shared/act.ts), and
-- "service_role" for the service role and direct database sessions (workers, CLI). What the body
-- says ("reviewer": "alice on call", the CLI's $ACTP_REVIEWER) is kept beside it as a label.

-- A label as the body gave it: trimmed, empty means none, at most 200 characters.
create or replace function public.actp_actor_label(p_label text, p_code text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_label is null or btrim(p_label) = '' then
    return null;
  end if;
  if length(btrim(p_label)) > 200 then
    raise exception using errcode = 'P0001', message = format('%s: the label is longer than 200 characters', p_code);
  end if;
  return btrim(p_label);
end
$$;

-- The recorded identity, sized for the columns that hold it.
create or replace function public.actp_actor()
returns text
language sql
stable
set search_path = ''
as $$ select left(public.actp_caller_actor(), 200) $$;

alter table public.actp_dlq
  add column reviewer_label text check (reviewer_label is null or length(reviewer_label) between 1 and 200);
comment on column public.actp_dlq.reviewed_by is 'Who resolved it, from the token (actp_caller_actor()).';
comment on column public.actp_dlq.reviewer_label is 'The reviewer name the request gave, kept beside the token''s identity.';

alter table public.actp_policy_approvals
  add column decided_label text check (decided_label is null or length(decided_label) between 1 and 200);
comment on column public.actp_policy_approvals.decided_by is 'Who decided, from the token (actp_caller_actor()).';
comment on column public.actp_policy_approvals.decided_label is 'The name the request gave for the decider, kept beside the token''s identity.';

-- DLQ -------------------------------------------------------------------------------------------

-- Review actions are for operators and the service role (the HTTP routes already say so; this holds
-- for every other way in). Returns the label; the identity is actp_actor().
create or replace function public.actp_dlq_check_reviewer(p_reviewer text, p_note text)
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
  if not public.actp_can_act() then
    raise exception using errcode = 'P0001', message = 'auth.forbidden: DLQ review is for actp operators and the service role';
  end if;
  if p_note is not null and (btrim(p_note) = '' or length(p_note) > 2000) then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_note: a note is 1 to 2000 characters';
  end if;
  return public.actp_actor_label(p_reviewer, 'dlq.invalid_reviewer');
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
    'reviewer_label', p_row.reviewer_label,
    'reviewed_at', p_row.reviewed_at,
    'note', p_row.review_note,
    -- true when this call found the item already resolved and changed nothing
    'already_resolved', p_already);
$$;

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
  v_label text := public.actp_dlq_check_reviewer(p_reviewer, p_note);
  v_actor text := public.actp_actor();
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
         reviewed_by = v_actor,
         reviewer_label = v_label,
         reviewed_at = now(),
         replay_job_id = v_new,
         fixed_input = case when p_resolution = 'manual_fix' then p_fixed_input end,
         review_note = p_note
   where id = v_row.id
  returning * into v_row;

  perform public.actp_emit(
    'job.replayed',
    jsonb_strip_nulls(jsonb_build_object('original_job_id', v_row.original_job_id, 'new_job_id', v_new, 'from_step', null,
                       'requested_by', v_actor, 'label', v_label, 'dlq_id', v_row.id, 'input_fixed', p_resolution = 'manual_fix')),
    v_row.original_job_id, null, v_agent, null);
  perform public.actp_emit(
    'dlq.reviewed',
    jsonb_strip_nulls(jsonb_build_object('dlq_id', v_row.id, 'action', p_resolution, 'reviewed_by', v_actor,
                                         'reviewer_label', v_label, 'note', p_note, 'new_job_id', v_new)),
    v_row.original_job_id, null, v_agent, null);
  return public.actp_dlq_review_result(v_row, false);
end
$$;

create or replace function public.actp_dlq_discard(p_dlq_id uuid, p_reviewer text, p_note text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_label text := public.actp_dlq_check_reviewer(p_reviewer, p_note);
  v_actor text := public.actp_actor();
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
     set resolution = 'discarded', reviewed_by = v_actor, reviewer_label = v_label, reviewed_at = now(), review_note = p_note
   where id = v_row.id
  returning * into v_row;

  select j.agent_slug into v_agent from public.actp_jobs j where j.id = v_row.original_job_id;
  perform public.actp_emit(
    'dlq.reviewed',
    jsonb_strip_nulls(jsonb_build_object('dlq_id', v_row.id, 'action', 'discarded', 'reviewed_by', v_actor,
                                         'reviewer_label', v_label, 'note', p_note)),
    v_row.original_job_id, null, v_agent, null);
  return public.actp_dlq_review_result(v_row, false);
end
$$;

-- Approvals -------------------------------------------------------------------------------------

create or replace function public.actp_policy_decide_approval(approval_id uuid, decision text, decided_by text, note text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  p_id uuid := approval_id;
  v_row public.actp_policy_approvals;
  v_status text;
  v_label text;
begin
  if not public.actp_can_act() then
    raise exception using errcode = 'P0001', message = 'auth.forbidden: approvals are decided by actp operators and the service role';
  end if;
  if decision is null or decision not in ('approve', 'deny') then
    raise exception using errcode = 'P0001', message = 'policy.invalid_decision: decision must be approve or deny';
  end if;
  v_label := public.actp_actor_label(actp_policy_decide_approval.decided_by, 'policy.invalid_decision');
  update public.actp_policy_approvals a
     set status = case decision when 'approve' then 'approved' else 'denied' end,
         decided_by = public.actp_actor(),
         decided_label = v_label,
         decided_at = now(),
         note = actp_policy_decide_approval.note
   where a.id = p_id and a.status = 'pending'
  returning a.* into v_row;
  if not found then
    select a.status into v_status from public.actp_policy_approvals a where a.id = p_id;
    if not found then
      raise exception using errcode = 'P0001', message = format('policy.approval.not_found: no approval %s', p_id);
    end if;
    raise exception using errcode = 'P0001', message = format('policy.approval.conflict: approval %s is already %s', p_id, v_status);
  end if;
  return to_jsonb(v_row);
end
$$;

-- Jobs ------------------------------------------------------------------------------------------

create or replace function public.actp_jobs_cancel(p_job uuid, p_by text default null, p_reason text default null)
returns text
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job public.actp_jobs%rowtype;
  v_table text;
  v_label text := public.actp_actor_label(p_by, 'jobs.invalid_options');
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
    jsonb_strip_nulls(jsonb_build_object('reason', coalesce(nullif(p_reason, ''), 'cancelled by request'),
                                         'cancelled_by', public.actp_actor(), 'label', v_label)),
    p_job, null, v_job.agent_slug, null);
  return 'cancelled';
end
$$;

-- Replay ----------------------------------------------------------------------------------------

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
  v_label text := public.actp_actor_label(p_requested_by, 'forensics.invalid_requester');
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
    jsonb_strip_nulls(jsonb_build_object('original_job_id', j.id, 'new_job_id', v_new, 'from_step', v_from,
                       'requested_by', public.actp_actor(), 'label', v_label, 'reused_steps', v_reused)),
    j.id, null, j.agent_slug, null);

  return jsonb_build_object('job_id', v_new, 'replay_of', j.id, 'from_step', v_from,
                            'reused_steps', v_reused, 'agent_slug', j.agent_slug,
                            'requested_by', public.actp_actor(), 'label', v_label);
end
$$;

revoke all on function public.actp_actor_label(text, text), public.actp_actor() from public, anon, authenticated;
grant execute on function public.actp_actor_label(text, text), public.actp_actor() to service_role;
