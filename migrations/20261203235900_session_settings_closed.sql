-- Issue 8, item 2, fixed forward: a safety threshold is the service role's row in actp_settings,
-- never the session's GUC. Migrations that landed beside 20261203200000_roles_closed_by_default
-- (the runtime's per-worker stale thresholds) read actp.worker_stale_seconds from the session again,
-- so `set local actp.worker_stale_seconds = '0'` once more marked every live worker dead. This file
-- sorts after every range of the day on purpose, so on a fresh database it runs after all of them.
--
-- Every function of ours that reads nullif(current_setting('actp.<key>', true), '')::int is
-- re-created with public.actp_setting_int('<key>', null) in its place: same meaning (absent means
-- "not set", the function's own fallback applies), but only the service role can set it.
-- tests/db/privileges.test.ts fails on any other current_setting('actp.…') read.

-- The runtime's design: no row means each worker's own heartbeat interval decides. A row is an
-- explicit override, as the GUC was.
delete from public.actp_settings where key = 'worker_stale_seconds' and value = '30'::jsonb;

do $$
declare
  f record;
  v_def text;
  v_new text;
begin
  for f in
    select p.oid
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.proname like 'actp\_%'
       and p.prosrc ~ 'current_setting\(\s*''actp\.'
  loop
    v_def := pg_catalog.pg_get_functiondef(f.oid);
    v_new := regexp_replace(
      v_def,
      'nullif\(\s*current_setting\(\s*''actp\.([a-z_]+)''\s*,\s*true\s*\)\s*,\s*''''\s*\)\s*::\s*int',
      'public.actp_setting_int(''\1'', null)',
      'g');
    if v_new <> v_def then
      execute v_new;
    end if;
  end loop;
end
$$;

comment on table public.actp_settings is
  'Platform settings that change safety (e.g. worker_stale_seconds: a worker whose last heartbeat is older is dead; absent = each worker''s own heartbeat interval decides). Only the service role writes them.';
