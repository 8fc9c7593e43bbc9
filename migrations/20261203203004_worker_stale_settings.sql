-- Issue 9 with the trust boundary's settings (20261203200000): the stale threshold is never read from
-- a session GUC (a caller could `set local` it), only from actp_settings, which the service role
-- writes. worker_stale_seconds, when set, is an explicit override for every worker; otherwise a worker
-- that declares its heartbeat interval is stale after worker_stale_beats of them (default 3: a worker
-- on the default 5 s heartbeat is dead 15 s after its last beat), and one that does not (an older
-- worker) after 30 s. actp_jobs_served becomes plpgsql:
-- a SQL function with SET search_path is not inlined, and called from plpgsql it was parsed and
-- planned on every submission.

alter table public.actp_settings add constraint actp_settings_worker_stale_beats check (
  key <> 'worker_stale_beats' or (jsonb_typeof(value) = 'number' and (value #>> '{}')::numeric between 2 and 100
                                  and (value #>> '{}')::numeric = trunc((value #>> '{}')::numeric)));
insert into public.actp_settings (key, value, description) values
  ('worker_stale_beats', '3', 'A worker that reports its heartbeat interval is marked dead after this many missed beats, and its jobs run again.')
on conflict (key) do nothing;

create or replace function public.actp_worker_stale_after(p_heartbeat_ms int, p_stale_seconds int default null)
returns interval
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_stale_seconds is not null then
    return p_stale_seconds * interval '1s';
  end if;
  return coalesce(
    public.actp_setting_int('worker_stale_seconds', null) * interval '1s',
    p_heartbeat_ms * public.actp_setting_int('worker_stale_beats', 3) * interval '1ms',
    interval '30s');
end
$$;

drop function public.actp_worker_stale_beats();

create or replace function public.actp_jobs_served(p_agent text)
returns boolean
language plpgsql
stable
set search_path = ''
as $$
declare
  v_beats int := public.actp_setting_int('worker_stale_beats', 3);
  v_seconds int := public.actp_setting_int('worker_stale_seconds', null);
begin
  return exists (
    select 1 from public.actp_worker_registrations w
     where w.status = 'alive' and p_agent = any (w.agents)
       and w.last_heartbeat_at >= now() - coalesce(v_seconds * interval '1s', w.heartbeat_interval_ms * v_beats * interval '1ms',
                                                   interval '30s'));
end
$$;

revoke all on function public.actp_worker_stale_after(int, int) from public, anon, authenticated;
grant execute on function public.actp_worker_stale_after(int, int) to service_role;
revoke all on function public.actp_jobs_served(text) from public, anon, authenticated;
grant execute on function public.actp_jobs_served(text) to service_role;
