-- PRD §4.4 Feature flags: one table and one evaluation, identical here and in shared/flags/evaluate.ts
-- (a test proves the two agree on 10,000 ids, on PGlite and on PostgreSQL 15).
-- Forward-only: never edit this file once it has landed; add a new migration instead.
--
-- Evaluation, in order:
--   unknown flag            -> false  (reason not_found)
--   enabled = false         -> false  (reason disabled)
--   expires_at <= now()     -> false  (reason expired)
--   a targeting id of the context is in target_ids -> true (reason targeted)
--   a stickiness id exists  -> bucket(flag_key, id) < rollout_pct (reason rollout)
--   no stickiness id        -> rollout_pct = 100 (reason no_stickiness_id)
-- Targeting ids: the context's top-level string values under "agent", "user" and every key ending in
-- "_id" (tenant_id, job_id, ...). The stickiness id is "agent", else "user". Empty strings count as absent.
-- bucket = first 4 bytes of sha256(utf8(flag_key || ':' || id)) as an unsigned big-endian integer,
-- mod 100. A flag key cannot contain ':', so the hashed string is unambiguous. Because the bucket does
-- not depend on rollout_pct, raising rollout_pct only ever adds ids.

create table public.actp_feature_flags (
  id uuid primary key default gen_random_uuid(),
  -- Lower-case, no ':' (the hash separator) and no '/' (it is a URL path segment in the API).
  flag_key text not null unique
    check (flag_key ~ '^[a-z][a-z0-9_.-]{0,99}$'),
  description text not null default '' check (length(description) <= 1000),
  enabled boolean not null default false,
  rollout_pct int not null default 0 check (rollout_pct between 0 and 100),
  target_ids text[] not null default '{}',
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.actp_feature_flags is
  'PRD §4.4: feature flags and percentage rollouts; evaluated by actp_flag_enabled() and shared/flags.';

-- A CHECK cannot hold a subquery, so the per-element rule lives in an immutable function.
create or replace function public.actp_flag_target_ids_valid(ids text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(array_ndims(ids), 1) = 1
     and coalesce(cardinality(ids), 0) <= 10000
     and not exists (select 1 from unnest(ids) t where t is null or length(t) not between 1 and 200);
$$;

alter table public.actp_feature_flags
  add constraint actp_feature_flags_target_ids_check check (public.actp_flag_target_ids_valid(target_ids));

create trigger tg_actp_feature_flags__touch
  before update on public.actp_feature_flags
  for each row execute function public.actp_touch_updated_at();

-- Evaluation building blocks -----------------------------------------------------------------------

-- One expression, no FROM, so the planner can inline it. bit(32) -> bigint zero-extends, which makes
-- the 4 bytes an unsigned integer.
create or replace function public.actp_flag_bucket(p_flag_key text, p_id text)
returns int
language sql
immutable
strict
set search_path = ''
as $$
  select ((('x' || left(pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_flag_key || ':' || p_id, 'UTF8')), 'hex'), 8))::bit(32)::bigint) % 100)::int;
$$;

create or replace function public.actp_flag_stickiness_id(p_context jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(
    case when jsonb_typeof(p_context -> 'agent') = 'string' then nullif(p_context ->> 'agent', '') end,
    case when jsonb_typeof(p_context -> 'user') = 'string' then nullif(p_context ->> 'user', '') end
  );
$$;

create or replace function public.actp_flag_targeting_ids(p_context jsonb)
returns text[]
language sql
immutable
set search_path = ''
as $$
  select coalesce(array_agg(e.value #>> '{}'), '{}')
  from jsonb_each(case when jsonb_typeof(p_context) = 'object' then p_context else '{}'::jsonb end) e
  where (e.key in ('agent', 'user') or right(e.key, 3) = '_id')
    and jsonb_typeof(e.value) = 'string'
    and e.value #>> '{}' <> '';
$$;

-- The one decision, over a row already read, so callers can evaluate many flags in one statement.
-- Returns { flag_key, enabled, reason, bucket? } with the same reasons as shared/flags/evaluate.ts.
create or replace function public.actp_flag_decide(
  p_flag_key text,
  p_found boolean,
  p_enabled boolean,
  p_rollout_pct int,
  p_target_ids text[],
  p_expires_at timestamptz,
  p_context jsonb,
  p_now timestamptz
)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  sticky text;
  b int;
begin
  if p_context is not null and jsonb_typeof(p_context) <> 'object' then
    raise exception using errcode = 'P0001',
      message = 'flags.invalid_context: context must be a JSON object';
  end if;
  if not p_found then
    return jsonb_build_object('flag_key', p_flag_key, 'enabled', false, 'reason', 'not_found');
  end if;
  if not p_enabled then
    return jsonb_build_object('flag_key', p_flag_key, 'enabled', false, 'reason', 'disabled');
  end if;
  if p_expires_at is not null and p_expires_at <= p_now then
    return jsonb_build_object('flag_key', p_flag_key, 'enabled', false, 'reason', 'expired');
  end if;
  if cardinality(p_target_ids) > 0 and p_target_ids && public.actp_flag_targeting_ids(p_context) then
    return jsonb_build_object('flag_key', p_flag_key, 'enabled', true, 'reason', 'targeted');
  end if;
  sticky := public.actp_flag_stickiness_id(p_context);
  if sticky is null then
    return jsonb_build_object('flag_key', p_flag_key, 'enabled', p_rollout_pct >= 100, 'reason', 'no_stickiness_id');
  end if;
  b := public.actp_flag_bucket(p_flag_key, sticky);
  return jsonb_build_object('flag_key', p_flag_key, 'enabled', b < p_rollout_pct, 'reason', 'rollout', 'bucket', b);
end
$$;

-- Evaluates many flags for one context in one statement, in the order given (duplicates kept).
create or replace function public.actp_flags_evaluate(p_flag_keys text[], p_context jsonb default '{}'::jsonb)
returns setof jsonb
language sql
stable
set search_path = ''
as $$
  select public.actp_flag_decide(k.key, f.id is not null, f.enabled, f.rollout_pct, f.target_ids, f.expires_at,
                                 coalesce(p_context, '{}'::jsonb), now())
  from unnest(p_flag_keys) with ordinality as k(key, ord)
  left join public.actp_feature_flags f on f.flag_key = k.key
  order by k.ord;
$$;

-- One flag: a plain lookup rather than the batch function, since it runs once per row in bulk queries.
create or replace function public.actp_flag_evaluate(p_flag_key text, p_context jsonb default '{}'::jsonb)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  f public.actp_feature_flags;
begin
  select * into f from public.actp_feature_flags where flag_key = p_flag_key;
  return public.actp_flag_decide(p_flag_key, found, f.enabled, f.rollout_pct, f.target_ids, f.expires_at,
                                 coalesce(p_context, '{}'::jsonb), now());
end
$$;

create or replace function public.actp_flag_enabled(flag_key text, context jsonb default '{}'::jsonb)
returns boolean
language sql
stable
set search_path = ''
as $$
  select (public.actp_flag_evaluate(flag_key, context) ->> 'enabled')::boolean;
$$;

-- Row level security: the service role writes; authenticated callers read (and so may evaluate,
-- since the evaluation functions run with the caller's rights); anon nothing.
select public.actp_secure_table('actp_feature_flags', 'read');

revoke execute on function public.actp_flags_evaluate(text[], jsonb) from public, anon;
revoke execute on function public.actp_flag_evaluate(text, jsonb) from public, anon;
revoke execute on function public.actp_flag_enabled(text, jsonb) from public, anon;
grant execute on function public.actp_flags_evaluate(text[], jsonb) to authenticated, service_role;
grant execute on function public.actp_flag_evaluate(text, jsonb) to authenticated, service_role;
grant execute on function public.actp_flag_enabled(text, jsonb) to authenticated, service_role;
