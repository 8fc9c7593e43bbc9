-- DLQ items grouped by error fingerprint (PRD §4.11 review, issue 12): one row per kind of failure,
-- so a burst of 500 dead jobs with the same cause is one thing to look at, replay or discard.
--
-- The fingerprint is what stays the same between two occurrences of one failure: job type, error
-- name, step, and the message with its variable parts (ids, numbers, quoted values, URLs) masked.

create or replace function public.actp_dlq_normalize_message(p_message text)
returns text
language sql
immutable
set search_path = ''
as $$
  select left(btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
           coalesce(p_message, ''),
           '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<id>', 'g'),
           'https?://[^\s"'')]+', '<url>', 'g'),
           '"[^"]*"|''[^'']*''', '<str>', 'g'),
           '\m[0-9a-fA-F]{12,}\M', '<hex>', 'g'),
           '[0-9]+(\.[0-9]+)?', '<n>', 'g'),
           '\s+', ' ', 'g')), 500);
$$;

create or replace function public.actp_dlq_fingerprint(p_job_type text, p_error jsonb, p_failure_reason text)
returns text
language sql
immutable
set search_path = ''
as $$
  select left(md5(concat_ws(E'\x1f',
    p_job_type,
    coalesce(p_error ->> 'name', ''),
    coalesce(p_error ->> 'code', ''),
    coalesce(p_error ->> 'step', ''),
    public.actp_dlq_normalize_message(coalesce(p_error ->> 'message', p_failure_reason)))), 16);
$$;

alter table public.actp_dlq
  add column error_fingerprint text generated always as (public.actp_dlq_fingerprint(job_type, error, failure_reason)) stored;
create index actp_dlq_fingerprint_pending_idx on public.actp_dlq (error_fingerprint, enqueued_at) where resolution is null;

-- One row per fingerprint (pending items, or every item with p_include_resolved): count, first and
-- last seen, a sample to read. Security invoker: RLS decides.
create or replace function public.actp_dlq_groups(p_include_resolved boolean default false, p_job_type text default null)
returns table (
  fingerprint text,
  job_type text,
  error_name text,
  step text,
  message_pattern text,
  sample_reason text,
  sample_dlq_id uuid,
  pending bigint,
  total bigint,
  first_seen timestamptz,
  last_seen timestamptz,
  agents text[]
)
language sql
stable
set search_path = ''
as $$
  select d.error_fingerprint,
         min(d.job_type),
         min(d.error ->> 'name'),
         min(d.error ->> 'step'),
         min(public.actp_dlq_normalize_message(coalesce(d.error ->> 'message', d.failure_reason))),
         (array_agg(d.failure_reason order by d.enqueued_at desc))[1],
         (array_agg(d.id order by d.enqueued_at desc))[1],
         count(*) filter (where d.resolution is null),
         count(*),
         min(d.enqueued_at),
         max(d.enqueued_at),
         (select array_agg(distinct j.agent_slug) from public.actp_jobs j
           where j.id = any(array_agg(d.original_job_id)))
    from public.actp_dlq d
   where (p_include_resolved or d.resolution is null)
     and (p_job_type is null or d.job_type = p_job_type)
   group by d.error_fingerprint
   order by count(*) filter (where d.resolution is null) desc, max(d.enqueued_at) desc;
$$;

-- Operators act with the service role's privileges and their own claims (functions/_shared/act.ts):
-- the caller is checked (actp_can_act()) and the identity taken from the token; only a service-role
-- caller may name the reviewer (a Telegram user, a CLI user).
create or replace function public.actp_dlq_reviewer(p_reviewer text)
returns text
language plpgsql
stable
set search_path = ''
as $$
begin
  if not public.actp_can_act() then
    raise exception using errcode = 'P0001', message = 'auth.forbidden: DLQ review is for actp operators';
  end if;
  if public.actp_caller_kind() = 'service_role' and nullif(btrim(p_reviewer), '') is not null then
    return left(btrim(p_reviewer), 200);
  end if;
  return public.actp_caller_actor();
end
$$;

-- Bulk replay of one group, oldest first, each item in its own subtransaction (an item that cannot be
-- replayed is reported, not fatal); items another reviewer holds are skipped.
create or replace function public.actp_dlq_replay_group(p_fingerprint text, p_reviewer text default null, p_note text default null, p_limit int default 500)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_reviewer text := public.actp_dlq_check_reviewer(public.actp_dlq_reviewer(p_reviewer), p_note);
  v_item record;
  v_result jsonb;
  v_items jsonb := '[]'::jsonb;
  v_ok int := 0;
  v_failed int := 0;
  v_msg text;
begin
  if p_fingerprint is null or p_fingerprint !~ '^[0-9a-f]{16}$' then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_fingerprint: a fingerprint is 16 lowercase hex digits';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    raise exception using errcode = 'P0001', message = 'dlq.invalid_filter: limit is 1 to 1000';
  end if;
  for v_item in
    select d.id, d.original_job_id from public.actp_dlq d
     where d.error_fingerprint = p_fingerprint and d.resolution is null
     order by d.enqueued_at, d.id
     limit p_limit
       for update skip locked
  loop
    begin
      v_result := public.actp_dlq_resolve_with_replay(v_item.id, v_reviewer, p_note, 'replayed', null);
      v_items := v_items || jsonb_build_array(v_result || jsonb_build_object('ok', true));
      v_ok := v_ok + 1;
    exception when others then
      v_msg := sqlerrm;
      v_items := v_items || jsonb_build_array(jsonb_build_object(
        'dlq_id', v_item.id, 'original_job_id', v_item.original_job_id, 'ok', false,
        'error', jsonb_build_object('code', coalesce(substring(v_msg from '^([a-z_]+(?:\.[a-z_]+)+):'), 'dlq.replay_failed'),
                                    'message', v_msg)));
      v_failed := v_failed + 1;
    end;
  end loop;
  return jsonb_build_object('fingerprint', p_fingerprint, 'matched', v_ok + v_failed, 'replayed', v_ok, 'failed', v_failed,
                            'remaining', (select count(*) from public.actp_dlq d where d.error_fingerprint = p_fingerprint and d.resolution is null),
                            'reviewed_by', v_reviewer, 'items', v_items);
end
$$;

revoke all on function public.actp_dlq_normalize_message(text) from public, anon, authenticated;
revoke all on function public.actp_dlq_fingerprint(text, jsonb, text) from public, anon, authenticated;
revoke all on function public.actp_dlq_groups(boolean, text) from public, anon, authenticated;
revoke all on function public.actp_dlq_reviewer(text) from public, anon, authenticated;
revoke all on function public.actp_dlq_replay_group(text, text, text, int) from public, anon, authenticated;
grant execute on function public.actp_dlq_normalize_message(text), public.actp_dlq_fingerprint(text, jsonb, text),
  public.actp_dlq_groups(boolean, text), public.actp_dlq_reviewer(text), public.actp_dlq_replay_group(text, text, text, int)
  to service_role;
-- Readers: the grouping is an invoker read over actp_dlq and actp_jobs (actp_can_read() policies).
grant execute on function public.actp_dlq_normalize_message(text), public.actp_dlq_fingerprint(text, jsonb, text),
  public.actp_dlq_groups(boolean, text) to authenticated;
