-- Fix forward of 20261204000500: it opened actp_settings (and the two functions reading it) to
-- operators and viewers so that the workers list could apply the supervisor's threshold. The trust
-- boundary keeps safety settings the service role's alone, read and write (tests/pg/privileges.test.ts
-- holds it). The workers list now reads the threshold through the platform's own connection, after
-- the caller is authorized as a reader (functions/jobs, shared/jobs/workers.ts: workerStaleRule),
-- so readers need neither the table nor the functions.
select public.actp_secure_table('actp_settings', 'none');
revoke execute on function public.actp_setting_int(text, int) from authenticated;
revoke execute on function public.actp_worker_stale_after(int, int) from authenticated;
