-- Issue 8 §6, fix forward: only a call whose cost was seen teaches the budget floor.
--
-- 20261203235959 learned from every settle. A call that failed or was cancelled settles at its
-- estimate (0 for a tool nothing bounds), so a failed first call taught "this tool costs 0", and its
-- waiting twins then all ran unreserved. Now:
-- * actp_policy_settle_call(reservation, cost, learn): the settle of 20261203235959, recording the
--   cost in actp_policy_cost_stats only when learn;
-- * actp_policy_settle(reservation, cost), the policy API's settle (a caller stating the actual
--   cost), learns as before;
-- * actp_tool_call_end (ctx.tool, ctx.llm) learns only from tool.call_completed.

create or replace function public.actp_policy_settle_call(reservation_id uuid, actual_cost_usd numeric, learn boolean)
returns jsonb
language plpgsql
set search_path = ''
-- As in actp_policy_check: key lookups, never worth re-planning per call.
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
  p_id uuid := reservation_id;
  p_cost numeric := round(actual_cost_usd, 8);
  p_learn boolean := coalesce(learn, false);
  r record;
  v_ledger uuid;
  v_at timestamptz;
begin
  if p_id is null then
    raise exception using errcode = 'P0001', message = 'policy.invalid_reservation: reservation_id is required';
  end if;
  if p_cost is null or p_cost < 0 or p_cost > 1000000000 then
    raise exception using errcode = 'P0001', message = 'policy.invalid_cost: actual_cost_usd must be a number between 0 and 1e9';
  end if;
  -- Budgets of the scope before the reservation (the order checks lock in): no check rebuilds
  -- their counters while this settle is in flight, and none waits on a lock this one holds. The
  -- scope comes from the reservation, read (unlocked) in the same statement.
  perform 1 from public.actp_policies p
  where p.policy_type = 'budget'
    and p.scope in (select v.scope from public.actp_policy_reservations x,
                           lateral (values ('global'), ('agent:' || x.agent_slug), ('tool:' || x.tool_name)) v(scope)
                     where x.id = p_id)
  order by p.id
  for share of p;
  select * into r from public.actp_policy_reservations x where x.id = p_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = format('policy.reservation.not_found: no reservation %s', p_id);
  end if;
  if r.status = 'settled' then
    raise exception using errcode = 'P0001',
      message = format('policy.reservation.conflict: reservation %s was already settled at %s', p_id, r.settled_at);
  end if;
  -- The reservation's state and its ledger row in one statement.
  with settled as (
    update public.actp_policy_reservations x
       set status = 'settled', settled_at = now(), actual_usd = p_cost
     where x.id = p_id
  )
  insert into public.actp_budget_ledger (agent_slug, tool_name, action_type, cost_usd, estimated_usd, reserved_usd, run_id, reservation_id)
  values (r.agent_slug, r.tool_name, r.action_type, p_cost, coalesce(r.estimated_usd, r.amount_usd), r.amount_usd, r.run_id, p_id)
  returning id, created_at into v_ledger, v_at;
  -- What the next check of this agent and tool reserves at least: the max of its last 20 settles,
  -- of calls whose cost was seen (a completed call): a failed or cancelled call settles at its
  -- estimate, which says nothing of what the tool costs.
  if p_learn then
    insert into public.actp_policy_cost_stats as s (agent_slug, tool_name, recent_usd, floor_usd, updated_at)
    values (r.agent_slug, r.tool_name, array[p_cost], p_cost, v_at)
    on conflict (agent_slug, tool_name) do update
      set recent_usd = (s.recent_usd || p_cost)[greatest(1, cardinality(s.recent_usd) - 18):],
          floor_usd = (select max(x) from unnest((s.recent_usd || p_cost)[greatest(1, cardinality(s.recent_usd) - 18):]) x),
          updated_at = excluded.updated_at;
  end if;
  -- An expired reservation already left "reserved" when the schedule marked it.
  perform public.actp_policy_counters_release(r.agent_slug, r.tool_name, r.run_id,
    case when r.status = 'reserved' then r.amount_usd else 0 end, p_cost, v_at);
  return jsonb_build_object(
    'reservation_id', p_id,
    'ledger_id', v_ledger,
    'cost_usd', p_cost,
    'reserved_usd', r.amount_usd,
    'released_usd', greatest(r.amount_usd - p_cost, 0),
    'expired', r.status = 'expired' or r.expires_at <= now(),
    'over_estimate', p_cost > r.amount_usd,
    'overrun_usd', greatest(p_cost - r.amount_usd, 0));
end
$$;
revoke all on function public.actp_policy_settle_call(uuid, numeric, boolean) from public, anon, authenticated;
grant execute on function public.actp_policy_settle_call(uuid, numeric, boolean) to service_role;

create or replace function public.actp_policy_settle(reservation_id uuid, actual_cost_usd numeric)
returns jsonb
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
  return public.actp_policy_settle_call(reservation_id, actual_cost_usd, true);
end
$$;
revoke all on function public.actp_policy_settle(uuid, numeric) from public, anon, authenticated;
grant execute on function public.actp_policy_settle(uuid, numeric) to service_role;

-- 20261124000024's, with the settle learning only from a completed call.
create or replace function public.actp_tool_call_end(reservation_id uuid, actual_cost_usd numeric, event jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_settled jsonb;
begin
  perform public.actp_tool_call_check_event(event, array['tool.call_completed', 'tool.call_failed'], null, null, null);
  v_settled := public.actp_policy_settle_call(reservation_id, actual_cost_usd, event ->> 'type' = 'tool.call_completed');
  perform public.actp_tool_call_emit(event, event -> 'payload');
  return v_settled;
end
$$;
