-- Bounded forensics (issue 8 item 3): a job's timeline is read in keyset pages, as /events is, so a
-- 200k-event job costs each request one page, never the whole log; and the API roles get a
-- statement_timeout, as Supabase gives them, so no request can hold the database.

-- Entries are ordered by (time, kind, key); the events' half of that order, per job, from an index.
create index if not exists actp_events_job_time_idx on public.actp_events (job_id, created_at, seq) where job_id is not null;

-- One page of a job's merged timeline (events and steps), after p_cursor, at most p_limit entries.
-- The cursor is what the previous page returned as next_cursor: the last entry's (at, rank, k) and
-- the latest end seen so far (prev), so gap_ms is the same whichever page an entry lands on.
-- p_events = false leaves the events out (the run diff compares steps, not the log).
create or replace function public.actp_inspect_timeline_page(
  p_job_id uuid,
  p_cursor jsonb default null,
  p_limit int default 500,
  p_events boolean default true
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  j public.actp_jobs;
  v_limit int := least(greatest(coalesce(p_limit, 500), 1), 1000);
  c_at timestamptz;
  c_rank int;
  c_k bigint;
  c_prev timestamptz;
  v_rows jsonb;
  v_entries jsonb;
  v_next jsonb;
  v_summary jsonb;
  v_replays jsonb;
  v_dlq jsonb;
begin
  select * into j from public.actp_jobs where id = p_job_id;
  if not found then
    raise exception using errcode = 'P0001', message = format('forensics.not_found: no job "%s"', p_job_id);
  end if;
  if p_cursor is not null then
    begin
      c_at := (p_cursor->>'at')::timestamptz;
      c_rank := (p_cursor->>'rank')::int;
      c_k := (p_cursor->>'k')::bigint;
      c_prev := (p_cursor->>'prev')::timestamptz;
    exception when others then
      raise exception using errcode = 'P0001', message = 'forensics.invalid_cursor: the cursor is not one this API returned';
    end;
    if c_at is null or c_rank is null or c_k is null then
      raise exception using errcode = 'P0001', message = 'forensics.invalid_cursor: the cursor is not one this API returned';
    end if;
  end if;

  with entries as (
    (select e.created_at as at, e.created_at as ended_at, 0 as rank, e.seq as k,
            jsonb_build_object('kind', 'event', 'seq', e.seq, 'type', e.type, 'step', e.step_id,
                               'tool', e.tool_name, 'payload', e.payload) as body
       from public.actp_events e
      where p_events and e.job_id = p_job_id
        and (c_at is null or e.created_at > c_at or (e.created_at = c_at and c_rank = 0 and e.seq > c_k))
      order by e.created_at, e.seq
      limit v_limit + 1)
    union all
    (select s.started_at, coalesce(s.finished_at, s.started_at), 1, s.ordinal::bigint,
            jsonb_build_object('kind', 'step', 'ordinal', s.ordinal, 'name', s.name, 'status', s.status,
                               'attempt', s.attempt, 'reused_from_job', s.reused_from_job,
                               'input_hash', s.input_hash, 'output', s.output, 'error', s.error,
                               'finished_at', s.finished_at,
                               'duration_ms', public.actp_forensics_ms(s.finished_at - s.started_at))
       from public.actp_job_steps s
      where s.job_id = p_job_id
        and (c_at is null or s.started_at > c_at or (s.started_at = c_at and (c_rank < 1 or (c_rank = 1 and s.ordinal > c_k))))
      order by s.started_at, s.ordinal
      limit v_limit + 1)
  ), page as (
    select * from entries order by at, rank, k limit v_limit + 1
  ), ordered as (
    select body, at, ended_at, rank, k,
           row_number() over w as n,
           greatest(c_prev, max(ended_at) over (w rows between unbounded preceding and 1 preceding)) as prev,
           greatest(c_prev, max(ended_at) over (w rows between unbounded preceding and current row)) as upto
      from page
    window w as (order by at, rank, k)
  )
  select jsonb_agg(jsonb_build_object(
           'n', n, 'at', at, 'rank', rank, 'k', k, 'upto', upto,
           'body', body || jsonb_build_object('at', at,
                                              'offset_ms', public.actp_forensics_ms(at - j.created_at),
                                              'gap_ms', greatest(coalesce(public.actp_forensics_ms(at - prev), 0), 0)))
           order by n)
    into v_rows
    from ordered;

  select coalesce(jsonb_agg(r->'body' order by (r->>'n')::int), '[]'::jsonb)
    into v_entries
    from jsonb_array_elements(coalesce(v_rows, '[]'::jsonb)) r
   where (r->>'n')::int <= v_limit;
  if jsonb_array_length(coalesce(v_rows, '[]'::jsonb)) > v_limit then
    select jsonb_build_object('at', r->'at', 'rank', r->'rank', 'k', r->'k', 'prev', r->'upto')
      into v_next
      from jsonb_array_elements(v_rows) r
     where (r->>'n')::int = v_limit;
  end if;

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
    'entries', v_entries,
    'next_cursor', v_next);
end
$$;

-- The unpaged function (RPC callers of the first version) now answers its first page of 1,000
-- entries with next_cursor, instead of every event of the job.
create or replace function public.actp_inspect_timeline(p_job_id uuid)
returns jsonb
language sql
stable
set search_path = ''
as $$ select public.actp_inspect_timeline_page(p_job_id, null, 1000, true) $$;

revoke all on function public.actp_inspect_timeline_page(uuid, jsonb, int, boolean) from public, anon, authenticated;
grant execute on function public.actp_inspect_timeline_page(uuid, jsonb, int, boolean) to service_role, authenticated;

-- Supabase's own defaults for its API roles: PostgREST applies a role's settings to each request.
-- (The functions set it per transaction in asRole, since SET ROLE does not apply role settings.)
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
