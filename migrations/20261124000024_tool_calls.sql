-- ctx.tool and ctx.llm in two round trips (issue 5, benchmark): the policy check and the call's
-- first event travel in one statement, the settle and its last event in another. Each function is
-- one statement, so a reservation never exists without its tool.call_started event (nor a settle
-- without its tool.call_completed / tool.call_failed), and a denial writes its tool.call_failed and
-- nothing else. The decisions stay where they are: actp_policy_check / actp_policy_settle
-- (20261124000020) decide, these only wrap them; the circuit breakers (20261124000021) still decide
-- through actp_circuit_acquire, called by the worker after begin.
--
-- Events arrive as the worker built and validated them against the event registry
-- (shared/events/registry.ts); the database re-checks only what keeps them honest here (their type,
-- and that they describe this call), then writes them through actp_emit like any other event.

-- Raised for an event that cannot be the one this function writes: a bug in the caller, not a denial.
create or replace function public.actp_tool_call_check_event(event jsonb, expected_types text[], agent_slug text, tool_name text, run_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if event is null or jsonb_typeof(event) <> 'object'
     or not ((event ->> 'type') = any (expected_types))
     or jsonb_typeof(event -> 'payload') is distinct from 'object' then
    raise exception using errcode = 'P0001',
      message = format('tool.invalid_event: expected a %s event with an object payload', array_to_string(expected_types, ' or '));
  end if;
  if agent_slug is not null and (event ->> 'agent_slug') is distinct from agent_slug
     or tool_name is not null and (event ->> 'tool_name') is distinct from tool_name
     or run_id is not null and (event ->> 'job_id') is distinct from run_id::text then
    raise exception using errcode = 'P0001',
      message = 'tool.invalid_event: the event''s agent_slug, tool_name and job_id must be those of the call';
  end if;
end
$$;

-- The insert public.actp_emit makes, written here in plpgsql: actp_emit is a SQL function, and a
-- SQL function (this one was too) is parsed and planned again on every call, twice per tool call.
-- The table's constraints (the type's foreign key, the checks) still decide what an event may be.
create or replace function public.actp_tool_call_emit(event jsonb, payload jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  insert into public.actp_events (type, payload, job_id, step_id, agent_slug, tool_name)
  values (event ->> 'type', coalesce(payload, '{}'::jsonb), (event ->> 'job_id')::uuid, event ->> 'step_id',
          event ->> 'agent_slug', event ->> 'tool_name');
end
$$;

-- actp_policy_check, then in the same statement:
--   allowed, and the tool's breaker closed in the database: writes started_event; 'started': true.
--   allowed, breaker open or half-open: writes nothing more; 'started': false. The worker asks the
--     breaker (actp_circuit_acquire: probe lease, fallback or refusal) and writes tool.call_started
--     itself if the call goes ahead, so a refused call never shows as started.
--   denied: writes tool.call_failed (kind rate_limited or policy_denied, the denial's reason, code
--     policy.<reason>, retry_after_ms, policy_id) with started_event's envelope and call_id.
-- Returns the policy decision with 'started' and 'circuit_state' (null on a denial) added.
create or replace function public.actp_tool_call_begin(
  agent_slug text,
  tool_name text,
  action_type text,
  run_id uuid,
  estimated_cost_usd numeric,
  target_url text,
  args_hash text,
  started_event jsonb
)
returns jsonb
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  p_agent text := agent_slug;
  p_tool text := tool_name;
  v_decision jsonb;
  v_state text;
  v_reason text;
  v_failed jsonb;
begin
  perform public.actp_tool_call_check_event(started_event, array['tool.call_started'], p_agent, p_tool, run_id);
  v_decision := public.actp_policy_check(p_agent, p_tool, action_type, run_id, estimated_cost_usd, target_url, args_hash);

  if (v_decision ->> 'allowed')::boolean then
    -- What actp_circuit_acquire answers without a lock: no row or a closed row is "allow".
    select s.state into v_state from public.actp_circuit_states s where s.tool_name = p_tool;
    v_state := coalesce(v_state, 'closed');
    if v_state = 'closed' then
      perform public.actp_tool_call_emit(started_event, started_event -> 'payload');
    end if;
    return v_decision || jsonb_build_object('started', v_state = 'closed', 'circuit_state', v_state);
  end if;

  v_reason := v_decision ->> 'reason';
  -- The same shape the worker builds (node/worker/guardrails/events.ts deniedPayload).
  v_failed := jsonb_strip_nulls(jsonb_build_object(
    'call_id', started_event -> 'payload' -> 'call_id',
    'kind', case when v_reason = 'rate_limited' then 'rate_limited' else 'policy_denied' end,
    'error', jsonb_build_object(
      'message', left(coalesce(nullif(v_decision ->> 'message', ''), v_reason), 4000),
      'code', left('policy.' || v_reason, 200),
      'where', 'policy'),
    'retry_after_ms', case when jsonb_typeof(v_decision -> 'retry_after') = 'number'
                           then round((v_decision ->> 'retry_after')::numeric * 1000)::bigint end,
    'policy_id', v_decision -> 'policy_id',
    'reason', v_reason));
  perform public.actp_tool_call_emit(
    jsonb_set(started_event, '{type}', '"tool.call_failed"'), v_failed);
  return v_decision || jsonb_build_object('started', false, 'circuit_state', null);
end
$$;

-- actp_policy_settle and the call's closing event (tool.call_completed or tool.call_failed) in one
-- statement. Returns what actp_policy_settle returns; its errors (unknown or settled reservation)
-- write nothing.
create or replace function public.actp_tool_call_end(reservation_id uuid, actual_cost_usd numeric, event jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_settled jsonb;
begin
  perform public.actp_tool_call_check_event(event, array['tool.call_completed', 'tool.call_failed'], null, null, null);
  v_settled := public.actp_policy_settle(reservation_id, actual_cost_usd);
  perform public.actp_tool_call_emit(event, event -> 'payload');
  return v_settled;
end
$$;

revoke execute on function public.actp_tool_call_check_event(jsonb, text[], text, text, uuid) from public, anon, authenticated;
revoke execute on function public.actp_tool_call_emit(jsonb, jsonb) from public, anon, authenticated;
revoke execute on function public.actp_tool_call_begin(text, text, text, uuid, numeric, text, text, jsonb) from public, anon, authenticated;
revoke execute on function public.actp_tool_call_end(uuid, numeric, jsonb) from public, anon, authenticated;
grant execute on function public.actp_tool_call_check_event(jsonb, text[], text, text, uuid) to service_role;
grant execute on function public.actp_tool_call_emit(jsonb, jsonb) to service_role;
grant execute on function public.actp_tool_call_begin(text, text, text, uuid, numeric, text, text, jsonb) to service_role;
grant execute on function public.actp_tool_call_end(uuid, numeric, jsonb) to service_role;
