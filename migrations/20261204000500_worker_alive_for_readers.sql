-- /jobs/workers and the dashboard judge a worker alive by the supervisor's own threshold
-- (actp_worker_stale_after: worker_stale_seconds, else worker_stale_beats of its heartbeat interval,
-- else 30 s). Readers run as themselves (operators and viewers are `authenticated`) and could not read
-- actp_settings, so listWorkers assumed the default 3 beats and could call a worker alive that the
-- supervisor had given up on. The settings are thresholds, not secrets: operators and viewers may
-- now read them (writes stay the service role's), and the two stable functions that read them are
-- theirs to call. An app user (no actp_role) still sees no setting, and no worker either.
select public.actp_secure_table('actp_settings', 'read');
grant execute on function public.actp_setting_int(text, int) to authenticated;
grant execute on function public.actp_worker_stale_after(int, int) to authenticated;
