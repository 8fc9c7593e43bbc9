-- Views for Supabase Studio (issue 12 §4): the SLA report, incidents and DLQ groups an operator who
-- lives in Studio reads without the dashboard. security_invoker, so the caller's RLS applies, and
-- each view also asks actp_can_read(), so a signed-up user without an actp role sees no rows.

create view public.actp_ops_sla_report with (security_invoker = true) as
  select b.job_type,
         b.status,
         b.success_objective,
         b.objective_window_days,
         b.total_1h as jobs_1h,
         b.bad_1h,
         b.burn_5m, b.burn_30m, b.burn_1h, b.burn_6h, b.burn_3d,
         b.page, b.ticket, b.missing_data,
         b.budget_remaining,
         b.exhaustion_at,
         t.time_to_first_update_ms as target_first_update_ms,
         t.time_to_completion_ms as target_completion_ms,
         p.p50_first_update_ms, p.p95_first_update_ms, p.p99_first_update_ms,
         p.p50_completion_ms, p.p95_completion_ms, p.p99_completion_ms,
         p.jobs_24h, p.success_ratio_24h,
         (select count(*) from public.actp_sla_breaches x
           where x.job_type = b.job_type and x.breached_at > now() - interval '24 hours') as breaches_24h
    from public.actp_sla_budget_status() b
    cross join lateral public.actp_sla_target(b.job_type) t
    left join lateral (
      select count(*) as jobs_24h,
             round(count(*) filter (where m.outcome = 'succeeded')::numeric
                   / nullif(count(*) filter (where m.outcome in ('succeeded', 'failed')), 0), 5) as success_ratio_24h,
             round(percentile_cont(0.5) within group (order by m.time_to_first_update_ms)) as p50_first_update_ms,
             round(percentile_cont(0.95) within group (order by m.time_to_first_update_ms)) as p95_first_update_ms,
             round(percentile_cont(0.99) within group (order by m.time_to_first_update_ms)) as p99_first_update_ms,
             round(percentile_cont(0.5) within group (order by m.time_to_completion_ms)) as p50_completion_ms,
             round(percentile_cont(0.95) within group (order by m.time_to_completion_ms)) as p95_completion_ms,
             round(percentile_cont(0.99) within group (order by m.time_to_completion_ms)) as p99_completion_ms
        from public.actp_sla_measurements m
       where m.job_type = b.job_type and m.counted_at > now() - interval '24 hours'
    ) p on true
   where public.actp_can_read();
comment on view public.actp_ops_sla_report is
  'Per job type: error budget status and burn rates (SRE multiwindow), remaining budget and projected exhaustion, last 24 h percentiles and breaches.';

create view public.actp_ops_incidents with (security_invoker = true) as
  select l.id,
         case when l.resolved_at is null then 'open' else 'resolved' end as state,
         l.mode as current_mode,
         l.peak_mode,
         l.source,
         l.declared_at,
         l.declared_by,
         l.trigger_reason,
         l.trigger_data -> 'firing' as firing_detectors,
         l.acknowledged_at,
         l.acknowledged_by,
         l.resolved_at,
         l.resolved_by,
         l.resolution_note,
         coalesce(l.resolved_at, now()) - l.declared_at as duration,
         (select count(*) from public.actp_incident_transitions t where t.incident_id = l.id) as transitions,
         l.trigger_data as evidence
    from public.actp_incident_log l
   where public.actp_can_read()
   order by l.declared_at desc;
comment on view public.actp_ops_incidents is 'Incidents, newest first, with who declared, acknowledged and resolved them and the evidence.';

create view public.actp_ops_dlq_groups with (security_invoker = true) as
  select g.fingerprint, g.job_type, g.error_name, g.step, g.message_pattern, g.sample_reason,
         g.sample_dlq_id, g.pending, g.total, g.first_seen, g.last_seen, g.agents
    from public.actp_dlq_groups(false, null) g
   where public.actp_can_read();
comment on view public.actp_ops_dlq_groups is 'Pending DLQ items grouped by error fingerprint: count, first and last seen, a sample.';

revoke all on public.actp_ops_sla_report, public.actp_ops_incidents, public.actp_ops_dlq_groups from anon, public;
grant select on public.actp_ops_sla_report, public.actp_ops_incidents, public.actp_ops_dlq_groups to authenticated, service_role;
