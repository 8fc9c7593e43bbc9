-- Issue 8, items 1 and 2: the role model applied to every table and function, privileges closed by
-- default. On Supabase `authenticated` is anyone who signed up and the anon key is public, so:
--   * every actp read policy for authenticated is `using (public.actp_can_read())` (operators and
--     viewers read everything, any other signed-up user reads nothing), through PostgREST too;
--   * authenticated holds SELECT and nothing else on the read tables (no TRIGGER, REFERENCES,
--     TRUNCATE, MAINTAIN: `lock table ... in access exclusive mode` is refused); anon holds nothing;
--   * EXECUTE on every actp function and every pg-boss function is revoked from public, anon and
--     authenticated and granted to service_role; authenticated gets back only the RLS helpers and the
--     read functions whose every table read passes through an actp_can_read() policy;
--   * sequences are not usable by anon or authenticated (setval to the maximum broke every insert);
--   * default privileges: functions, tables and sequences created later start closed;
--   * safety settings live in actp_settings (service role writes), not in the session's GUCs.

-- ---------------------------------------------------------------------------------------------
-- One access rule for every actp table, now asking the role model. Idempotent, so this migration
-- re-applies it to every existing table and later migrations keep calling it as before.
create or replace function public.actp_secure_table(p_table text, p_authenticated text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_authenticated not in ('read', 'none') then
    raise exception using errcode = 'P0001', message = format('actp.invalid_access: %s', p_authenticated);
  end if;
  execute format('alter table public.%I enable row level security', p_table);
  execute format('drop policy if exists %I on public.%I', p_table || '_service', p_table);
  execute format('create policy %I on public.%I for all to service_role using (true) with check (true)', p_table || '_service', p_table);
  execute format('revoke all on public.%I from public, anon, authenticated', p_table);
  execute format('grant all on public.%I to service_role', p_table);
  execute format('drop policy if exists %I on public.%I', p_table || '_read', p_table);
  if p_authenticated = 'read' then
    -- Operators and viewers (app_metadata.actp_role) read; any other signed-up user sees no row.
    execute format('create policy %I on public.%I for select to authenticated using ((select public.actp_can_read()))', p_table || '_read', p_table);
    execute format('grant select on public.%I to authenticated', p_table);
  end if;
end
$$;
comment on function public.actp_secure_table(text, text) is
  'RLS on; service_role all; authenticated SELECT through actp_can_read() (''read'') or nothing (''none''); anon nothing.';

-- Every existing actp table: 'read' where it had a read policy, 'none' otherwise.
do $$
declare
  t record;
begin
  for t in
    select c.relname,
           exists (select 1 from pg_catalog.pg_policies p
                    where p.schemaname = 'public' and p.tablename = c.relname and p.policyname = c.relname || '_read') as readable
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname like 'actp\_%'
       and not c.relispartition
  loop
    perform public.actp_secure_table(t.relname, case when t.readable then 'read' else 'none' end);
  end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Safety settings the service role owns. A GUC is the session's to change (`set local
-- actp.worker_stale_seconds = '0'` in front of a definer call marked every live worker dead), a row
-- here is not.
create table public.actp_settings (
  key text primary key check (key ~ '^[a-z][a-z0-9_.]{0,99}$'),
  value jsonb not null check (jsonb_typeof(value) in ('number', 'string', 'boolean')),
  description text not null default '' check (length(description) <= 1000),
  updated_at timestamptz not null default now(),
  constraint actp_settings_worker_stale_seconds check (
    key <> 'worker_stale_seconds' or (jsonb_typeof(value) = 'number' and (value #>> '{}')::numeric between 5 and 86400
                                      and (value #>> '{}')::numeric = trunc((value #>> '{}')::numeric)))
);
comment on table public.actp_settings is
  'Platform settings that change safety (thresholds read by definer and decision functions). Only the service role writes them.';
create trigger actp_settings_touch before update on public.actp_settings
  for each row execute function public.actp_touch_updated_at();
select public.actp_secure_table('actp_settings', 'none');

insert into public.actp_settings (key, value, description) values
  ('worker_stale_seconds', '30', 'A worker whose last heartbeat is older than this is marked dead by the supervisor and its jobs requeued.')
on conflict (key) do nothing;

create or replace function public.actp_setting_int(p_key text, p_default int)
returns int
language sql
stable
set search_path = ''
as $$
  select coalesce((select (s.value #>> '{}')::int from public.actp_settings s where s.key = p_key), p_default)
$$;

-- The supervisor as before, with its stale threshold from actp_settings instead of the session.
create or replace function public.actp_supervisor_tick(p_stale_seconds int default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_stale int := coalesce(p_stale_seconds, public.actp_setting_int('worker_stale_seconds', 30));
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

-- ---------------------------------------------------------------------------------------------
-- Functions: closed, then opened for what is meant. Ours are public.actp_* and everything in the
-- pg-boss schema; a project's own functions in public are left alone.
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where ((n.nspname = 'public' and p.proname like 'actp\_%') or n.nspname = 'pgboss')
       and not exists (select 1 from pg_catalog.pg_depend d where d.objid = p.oid and d.deptype = 'e')
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;

-- authenticated (operators and viewers; a plain user gets nothing out of them): the role helpers
-- RLS policies call, and the invoker read functions, whose every table read is under an
-- actp_can_read() policy, with the pure helpers they call. None of these is SECURITY DEFINER.
grant execute on function
  public.actp_caller_kind(),
  public.actp_can_read(),
  public.actp_can_act(),
  public.actp_caller_actor(),
  public.actp_inspect_timeline(uuid),
  public.actp_forensics_ms(interval),
  public.actp_resolve_job_step(uuid, text),
  public.actp_circuit_overview(text),
  public.actp_circuit_config(text),
  public.actp_circuit_seconds_until(timestamptz),
  public.actp_model_route(text, int, numeric),
  public.actp_flags_evaluate(text[], jsonb),
  public.actp_flag_evaluate(text, jsonb),
  public.actp_flag_enabled(text, jsonb),
  public.actp_flag_decide(text, boolean, boolean, int, text[], timestamptz, jsonb, timestamptz),
  public.actp_flag_stickiness_id(jsonb),
  public.actp_flag_targeting_ids(jsonb),
  public.actp_flag_bucket(text, text)
to authenticated;

-- ---------------------------------------------------------------------------------------------
-- Tables and sequences of pg-boss: the service role's, nobody else's (job data is agent input).
do $$
begin
  if exists (select 1 from pg_catalog.pg_namespace where nspname = 'pgboss') then
    execute 'revoke all on schema pgboss from public, anon, authenticated';
    execute 'revoke all on all tables in schema pgboss from public, anon, authenticated';
    execute 'revoke all on all sequences in schema pgboss from public, anon, authenticated';
    execute 'alter default privileges in schema pgboss revoke all on tables from public, anon, authenticated';
    execute 'alter default privileges in schema pgboss revoke all on sequences from public, anon, authenticated';
    execute 'alter default privileges in schema pgboss revoke execute on functions from public, anon, authenticated';
  end if;
end
$$;

-- Sequences of actp: nextval happens inside inserts the service role makes; nobody else needs them.
do $$
declare
  s record;
begin
  for s in
    select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'S' and c.relname like 'actp\_%'
  loop
    execute format('revoke all on sequence public.%I from public, anon, authenticated', s.relname);
    execute format('grant all on sequence public.%I to service_role', s.relname);
  end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Objects created later (by this role, in public) start closed: EXECUTE is granted to PUBLIC by
-- PostgreSQL and to anon/authenticated by Supabase's defaults, so both are withdrawn. A migration
-- that means to open something grants it explicitly (actp_secure_table does it for tables).
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from public, anon, authenticated;
alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public revoke all on sequences from anon, authenticated;
