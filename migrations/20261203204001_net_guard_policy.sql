-- Issue 10 item 0: the outbound guard's side of the policy service.
--
-- * actp_policy_tool_is_network(name): tools whose name says they reach the network (http.*,
--   https.*, web.*, browser.*, net.*, research.*, fetch, *.fetch, *.http, *.request, *.download,
--   *.crawl, *.scrape, *.browse). Under any allowlist (global, agent or tool scope) such a call
--   without a target_url is denied url_required; before, only tool-scoped allowlists did that, so an
--   agent-scoped allowlist let a URL-less browser.fetch through.
-- * actp_policy_url_check(agent, tool, url): the allowlist verdict for ONE hop of a guarded fetch,
--   without reservations or rate-limit slots (the call's own actp_policy_check took those once).
--   Every redirect hop is checked here with the same matcher (actp_policy_host_matches). `exact`
--   says every applicable allowlist names this exact IP literal or host:port: only then may the
--   guard connect to a private, loopback or otherwise non-public address.
--
-- actp_policy_check below is 20261124000020's, with only the url_required rule widened.

-- plpgsql, not sql: actp_policy_check calls it, and a SQL function is re-planned in every transaction.
create or replace function public.actp_policy_tool_is_network(name text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  return name ~* '^(https?|web|browser|net|research)([.:/]|$)'
      or name ~* '^fetch$'
      or name ~* '[.:/](fetch|https?|request|download|crawl|scrape|browse)$';
end
$$;
revoke all on function public.actp_policy_tool_is_network(text) from public, anon, authenticated;
grant execute on function public.actp_policy_tool_is_network(text) to service_role;

create or replace function public.actp_policy_check(
  agent_slug text,
  tool_name text,
  action_type text,
  run_id uuid,
  estimated_cost_usd numeric,
  target_url text default null,
  args_hash text default null
)
returns jsonb
language plpgsql
set search_path = ''
-- Every statement here reads a handful of rows by key, so the generic plan is the right one. With
-- the default (auto) the planner keeps choosing custom plans for some of them (their parameters
-- fold constants away) and re-plans them on every call: about a third of the check's time.
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
  p_agent text := agent_slug;
  p_tool text := tool_name;
  p_action text := action_type;
  p_run uuid := run_id;
  p_estimate numeric := estimated_cost_usd;
  p_url text := target_url;
  p_args text := args_hash;
  v_now timestamptz := now();
  v_factor numeric;
  v_agent record;
  v_pol record;
  v_m text[];
  v_scheme text;
  v_host text;
  v_port int;
  v_default_port int;
  v_kind text;
  v_tz text;
  v_day_start timestamptz;
  v_daily_used numeric;
  v_run_used numeric;
  v_limit numeric;
  v_clock timestamptz;
  v_day_end timestamptz;
  v_daily_row boolean;
  v_run_row boolean;
  v_expired_day numeric;
  v_expired_run numeric;
  v_amount numeric := round(estimated_cost_usd, 8);
  v_win int;
  v_cap int;
  v_oldest timestamptz;
  v_max int;
  v_budget_ids uuid[] := '{}'::uuid[];
  v_day_ids uuid[] := '{}'::uuid[];
  v_day_starts timestamptz[] := '{}'::timestamptz[];
  v_run_ids uuid[] := '{}'::uuid[];
  v_rate_ids uuid[] := '{}'::uuid[];
  v_rate_windows int[] := '{}'::int[];
  v_ttl int;
  v_safety_policy uuid;
  v_approval record;
  v_approval_id uuid;
  v_reservation uuid;
begin
  -- Bad input is an error (400), not a denial: nothing is written.
  -- Lengths are tested apart from the patterns: PostgreSQL expands a bounded repetition such as
  -- {0,199} into that many regex states, and every call pays for them.
  if p_agent is null or length(p_agent) > 63 or p_agent !~ '^[a-z][a-z0-9_-]*$' then
    raise exception using errcode = 'P0001', message = 'policy.invalid_agent: agent_slug must be a registered agent slug';
  end if;
  -- actp_policy_tool_name_is_valid's test, inline: a SQL function with its own search_path is
  -- parsed and planned again in every transaction that calls it, and this runs on every tool call.
  if p_tool is null or length(p_tool) > 200 or p_tool !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]*$' then
    raise exception using errcode = 'P0001', message = 'policy.invalid_tool: tool_name must match [A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}';
  end if;
  if p_action is null or length(p_action) > 100 or p_action !~ '^[a-z][a-z0-9_.:-]*$' then
    raise exception using errcode = 'P0001', message = 'policy.invalid_action_type: action_type must match [a-z][a-z0-9_.:-]{0,99}';
  end if;
  if p_estimate is null or p_estimate < 0 or p_estimate > 1000000000 then
    raise exception using errcode = 'P0001', message = 'policy.invalid_cost: estimated_cost_usd must be a number between 0 and 1e9';
  end if;
  if p_args is not null and (length(p_args) = 0 or length(p_args) > 200) then
    raise exception using errcode = 'P0001', message = 'policy.invalid_args_hash: args_hash must be 1..200 characters';
  end if;
  -- Budget and rate limits read spend after taking the policy lock; under REPEATABLE READ the
  -- snapshot would predate the lock and two checks could both spend the last dollar.
  if current_setting('transaction_isolation') <> 'read committed' then
    raise exception using errcode = 'P0001', message = 'policy.isolation: actp_policy_check must run under READ COMMITTED';
  end if;

  -- Fail closed on who is asking and what they may call.
  -- The platform mode row is read inline, with the agent (what actp_platform_mode() returns): a SQL
  -- function with its own search_path is not inlined, and each statement here costs on every call.
  select d.enabled, d.capabilities,
         case when (select ps.mode from public.actp_platform_state ps where ps.id) = 'incident' then 0.5 else 1 end as factor
    into v_agent
    from public.actp_agent_definitions d where d.slug = p_agent;
  if not found then
    return public.actp_policy_deny('unknown_agent', format('no agent %s is registered', p_agent));
  end if;
  if not v_agent.enabled then
    return public.actp_policy_deny('agent_disabled', format('agent %s is disabled', p_agent));
  end if;
  v_factor := v_agent.factor;
  -- A declared capability list is the agent's tool allowlist; an empty list declares nothing.
  -- (Two ifs: the length test alone is a simple expression, no query, for agents without a list.)
  if jsonb_array_length(v_agent.capabilities) > 0 then
    if not exists (
      select 1
      from jsonb_array_elements(v_agent.capabilities) c,
           lateral (select case jsonb_typeof(c) when 'string' then c #>> '{}' when 'object' then c ->> 'tool' end as t) x
      where x.t = p_tool or x.t = '*'
         or (right(x.t, 2) in ('.*', ':*') and left(p_tool, length(x.t) - 1) = left(x.t, length(x.t) - 1))
    ) then
      return public.actp_policy_deny('tool_not_permitted',
        format('tool %s is not among agent %s''s capabilities', p_tool, p_agent));
    end if;
  end if;

  -- The caller (shared/policy checkPolicy) sends the WHATWG-canonical URL; anything not in that
  -- exact form is refused here rather than parsed leniently.
  if p_url is not null then
    -- The form, then the host's labels. One pattern with a bounded repetition per label ({0,61})
    -- and nested capture groups took ~0.1 ms a call (a large automaton, its memory faulted in
    -- afresh each transaction), more than the lookups. Same language as that pattern (the db test
    -- policy-fast-path compares them): labels of [a-z0-9_] with inner '-', 1..63 long.
    v_m := regexp_match(p_url, '^(https?)://([a-z0-9_.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?(?:[/?][!-~]*)?$');
    if v_m is null or length(p_url) > 8192 or length(v_m[2]) > 255
       or (left(v_m[2], 1) <> '[' and (v_m[2] ~ '^[.-]|[.-]$|\.[.-]|-\.'
                                       or (length(v_m[2]) > 63 and v_m[2] ~ '[a-z0-9_-]{64}'))) then
      return public.actp_policy_deny('invalid_url', 'target_url is not a canonical http(s) URL');
    end if;
    v_scheme := v_m[1];
    v_host := v_m[2];
    v_default_port := case v_scheme when 'https' then 443 else 80 end;
    v_port := coalesce(substr(v_m[3], 2)::int, v_default_port);
    if v_port not between 1 and 65535 then
      return public.actp_policy_deny('invalid_url', 'target_url has an invalid port');
    end if;
  end if;

  -- Serialize checks that share a budget or rate limit. Row locks in id order: no deadlocks.
  perform 1
  from public.actp_policies p
  where p.enabled and p.policy_type in ('budget', 'rate_limit')
    and p.scope in ('global', 'agent:' || p_agent, 'tool:' || p_tool)
  order by p.id
  for no key update;
  -- Taken under the lock: per policy, windows and call times only move forward.
  v_clock := clock_timestamp();

  for v_pol in
    select p.id, p.scope, p.policy_type, p.config
    from public.actp_policies p
    where p.enabled and p.scope in ('global', 'agent:' || p_agent, 'tool:' || p_tool)
    order by case p.policy_type when 'allowlist' then 1 when 'rate_limit' then 2 when 'budget' then 3 else 4 end, p.id
  loop
    v_kind := split_part(v_pol.scope, ':', 1);

    if v_pol.policy_type = 'allowlist' then
      if p_url is null then
        -- A tool-scoped allowlist says "this tool fetches URLs"; a network tool (by its name's
        -- family, actp_policy_tool_is_network) under any allowlist must say where it goes. Without
        -- a URL there is nothing to check, so the call is refused, never waved through.
        if v_kind = 'tool' or public.actp_policy_tool_is_network(p_tool) then
          return public.actp_policy_deny('url_required', format('tool %s needs a target_url for its allowlist', p_tool), v_pol.id);
        end if;
      elsif not exists (
        select 1 from jsonb_array_elements_text(v_pol.config -> 'allowed_domains') d(pattern)
        where public.actp_policy_host_matches(v_host, v_port, v_default_port, d.pattern)
      ) then
        return public.actp_policy_deny('domain_not_allowed',
          format('host %s is not in the allowlist', v_host), v_pol.id, null,
          jsonb_build_object('host', v_host, 'port', v_port));
      end if;

    elsif v_pol.policy_type = 'rate_limit' then
      if v_pol.config ? 'tool' and v_pol.config ->> 'tool' <> p_tool then
        continue;
      end if;
      foreach v_win in array case when v_pol.config ? 'max_per_hour' then array[60, 3600] else array[60] end loop
        v_max := (v_pol.config ->> case v_win when 60 then 'max_per_minute' else 'max_per_hour' end)::int;
        -- The slot the next call would take holds the call v_max places back.
        -- A scalar subquery, not a join: the slot is then a parameter of an exact unique-index
        -- lookup (a join let the planner scan the policy's whole ring and filter on the slot).
        select w.capacity,
               (select c.called_at from public.actp_rate_limit_calls c
                 where c.policy_id = w.policy_id and c.window_seconds = w.window_seconds
                   and c.slot = (w.next_seq % w.capacity)::int)
          into v_cap, v_oldest
        from public.actp_rate_limit_windows w
        where w.policy_id = v_pol.id and w.window_seconds = v_win;
        if v_cap is distinct from v_max then
          perform public.actp_policy_rate_resize(v_pol.id, v_win, v_max);
          select (select c.called_at from public.actp_rate_limit_calls c
                   where c.policy_id = w.policy_id and c.window_seconds = w.window_seconds
                     and c.slot = (w.next_seq % w.capacity)::int)
            into v_oldest
          from public.actp_rate_limit_windows w
          where w.policy_id = v_pol.id and w.window_seconds = v_win;
        end if;
        if v_oldest > v_clock - make_interval(secs => v_win) then
          return public.actp_policy_deny('rate_limited',
            format('more than %s calls per %s', v_max, case v_win when 60 then 'minute' else 'hour' end), v_pol.id,
            greatest(1, ceil(extract(epoch from (v_oldest + make_interval(secs => v_win) - v_clock))))::int,
            jsonb_build_object('window', case v_win when 60 then 'minute' else 'hour' end, 'limit', v_max));
        end if;
        v_rate_ids := v_rate_ids || v_pol.id;
        v_rate_windows := v_rate_windows || v_win;
      end loop;

    elsif v_pol.policy_type = 'budget' then
      v_tz := coalesce(v_pol.config ->> 'day_boundary_tz', 'UTC');
      v_day_start := date_trunc('day', v_clock at time zone v_tz) at time zone v_tz;
      v_day_end := (date_trunc('day', v_clock at time zone v_tz) + interval '1 day') at time zone v_tz;
      v_daily_row := v_pol.config ? 'daily_usd';
      v_run_row := p_run is not null and v_pol.config ? 'per_run_usd';
      for i in 1..2 loop
        -- ONE statement, one snapshot: a settle moves an amount from reserved to settled in one
        -- counter row, and an expiry marks the reservation and its counters in one commit.
        -- Reservations past expires_at but not yet marked by the schedule stop counting now.
        -- The expiry index (open reservations by expires_at) is the only way in, so the
        -- correction costs what the schedule has not marked yet, not a run's or agent's history.
        select d.settled_usd + d.reserved_usd, r.settled_usd + r.reserved_usd, e.day_expired, e.run_expired
          into v_daily_used, v_run_used, v_expired_day, v_expired_run
        from (select 1) one
        left join public.actp_policy_budget_days d on v_daily_row and d.policy_id = v_pol.id and d.day_start = v_day_start
        left join public.actp_policy_budget_runs r on v_run_row and r.policy_id = v_pol.id and r.run_id = p_run
        cross join lateral (
          select coalesce(sum(x.amount_usd), 0) as day_expired,
                 coalesce(sum(x.amount_usd) filter (where x.run_id = p_run), 0) as run_expired
          from public.actp_policy_reservations x
          where x.status = 'reserved' and x.expires_at <= v_now
            and (v_kind = 'global' or (v_kind = 'agent' and x.agent_slug = p_agent) or (v_kind = 'tool' and x.tool_name = p_tool))
        ) e;
        exit when (v_daily_used is not null or not v_daily_row) and (v_run_used is not null or not v_run_row);
        -- First check of the day (or run) for this policy: build the row from the truth.
        if v_daily_row and v_daily_used is null then
          perform public.actp_policy_open_day(v_pol.id, v_pol.scope, v_day_start, v_day_end);
        end if;
        if v_run_row and v_run_used is null then
          perform public.actp_policy_open_run(v_pol.id, v_pol.scope, p_run);
        end if;
      end loop;
      v_daily_used := coalesce(v_daily_used - v_expired_day, 0);
      v_run_used := coalesce(v_run_used - v_expired_run, 0);

      if v_pol.config ? 'per_run_usd' then
        v_limit := (v_pol.config ->> 'per_run_usd')::numeric * v_factor;
        if v_run_used + p_estimate > v_limit then
          return public.actp_policy_deny('budget_exceeded',
            format('per-run budget %s USD would be exceeded', v_limit), v_pol.id, null,
            jsonb_build_object('limit', 'per_run_usd', 'limit_usd', v_limit, 'used_usd', v_run_used,
                               'estimated_usd', p_estimate, 'incident_mode', v_factor < 1));
        end if;
      end if;
      if v_pol.config ? 'daily_usd' then
        v_limit := (v_pol.config ->> 'daily_usd')::numeric * v_factor;
        if v_daily_used + p_estimate > v_limit then
          return public.actp_policy_deny('budget_exceeded',
            format('daily budget %s USD would be exceeded', v_limit), v_pol.id,
            case when p_estimate <= v_limit then
              greatest(1, ceil(extract(epoch from (v_day_end - v_clock))))::int
            end,
            jsonb_build_object('limit', 'daily_usd', 'limit_usd', v_limit, 'used_usd', v_daily_used,
                               'estimated_usd', p_estimate, 'day_start', v_day_start, 'day_boundary_tz', v_tz,
                               'incident_mode', v_factor < 1));
        end if;
      end if;
      v_budget_ids := v_budget_ids || v_pol.id;
      if v_daily_row then
        v_day_ids := v_day_ids || v_pol.id;
        v_day_starts := v_day_starts || v_day_start;
      end if;
      if v_run_row then
        v_run_ids := v_run_ids || v_pol.id;
      end if;
      v_ttl := least(coalesce(v_ttl, 2147483647), coalesce((v_pol.config ->> 'reservation_ttl_seconds')::int, 900));

    elsif v_pol.policy_type = 'safety' then
      if v_safety_policy is null and exists (
        select 1 from jsonb_array_elements_text(v_pol.config -> 'require_approval_for') a(t) where a.t = p_action
      ) then
        v_safety_policy := v_pol.id;
      end if;
    end if;
  end loop;

  -- Every other policy passed; an approval is consumed only for a call that will be allowed.
  if v_safety_policy is not null then
    -- Racing checks wait on the row lock and re-test status: exactly one consumes it.
    update public.actp_policy_approvals a
       set status = 'consumed', consumed_at = now()
     where a.id = (
             select a2.id from public.actp_policy_approvals a2
             where a2.status = 'approved' and a2.run_id is not distinct from p_run and a2.agent_slug = p_agent
               and a2.tool_name = p_tool and a2.action_type = p_action and a2.args_hash is not distinct from p_args
             order by a2.decided_at, a2.id
             limit 1)
       and a.status = 'approved'
    returning a.id into v_approval_id;
    if v_approval_id is null then
      select a.id, a.status into v_approval
      from public.actp_policy_approvals a
      where a.run_id is not distinct from p_run and a.agent_slug = p_agent and a.tool_name = p_tool
        and a.action_type = p_action and a.args_hash is not distinct from p_args
        and a.status in ('pending', 'denied', 'consumed')
      order by a.requested_at desc, (a.status = 'pending') desc
      limit 1;
      if found and v_approval.status = 'denied' then
        return public.actp_policy_deny('approval_denied',
          format('a person denied %s on %s for this call', p_action, p_tool), v_safety_policy, null,
          jsonb_build_object('approval_id', v_approval.id));
      end if;
      if not found or v_approval.status <> 'pending' then
        insert into public.actp_policy_approvals (policy_id, run_id, agent_slug, tool_name, action_type, args_hash)
        values (v_safety_policy, p_run, p_agent, p_tool, p_action, p_args)
        on conflict do nothing;
        select a.id into v_approval_id
        from public.actp_policy_approvals a
        where a.status = 'pending' and a.run_id is not distinct from p_run and a.agent_slug = p_agent
          and a.tool_name = p_tool and a.action_type = p_action and a.args_hash is not distinct from p_args;
      else
        v_approval_id := v_approval.id;
      end if;
      return public.actp_policy_deny('approval_required',
        format('%s on %s needs a person''s approval', p_action, p_tool), v_safety_policy, null,
        jsonb_build_object('approval_id', v_approval_id));
    end if;
  end if;

  if cardinality(v_rate_ids) > 0 then
    -- The window's counter moves on and the call goes into the slot it left (the one `capacity`
    -- calls back), in one statement.
    with rate_windows as (
      update public.actp_rate_limit_windows w set next_seq = w.next_seq + 1
        from unnest(v_rate_ids, v_rate_windows) u(pid, win)
       where w.policy_id = u.pid and w.window_seconds = u.win
      returning w.policy_id, w.window_seconds, ((w.next_seq - 1) % w.capacity)::int as slot
    )
    insert into public.actp_rate_limit_calls as c (policy_id, window_seconds, slot, agent_slug, tool_name, run_id, called_at)
    select rw.policy_id, rw.window_seconds, rw.slot, p_agent, p_tool, p_run, v_clock
    from rate_windows rw
    on conflict (policy_id, window_seconds, slot) do update
      set agent_slug = excluded.agent_slug, tool_name = excluded.tool_name, run_id = excluded.run_id, called_at = excluded.called_at;
  end if;
  if v_amount > 0 and cardinality(v_day_ids) > 0 then
    update public.actp_policy_budget_days d set reserved_usd = d.reserved_usd + v_amount, updated_at = v_now
      from unnest(v_day_ids, v_day_starts) u(pid, ds)
     where d.policy_id = u.pid and d.day_start = u.ds;
  end if;
  if v_amount > 0 and cardinality(v_run_ids) > 0 then
    update public.actp_policy_budget_runs r set reserved_usd = r.reserved_usd + v_amount, updated_at = v_now
     where r.policy_id = any(v_run_ids) and r.run_id = p_run;
  end if;
  insert into public.actp_policy_reservations (policy_ids, agent_slug, tool_name, action_type, run_id, amount_usd, created_at, expires_at)
  values (v_budget_ids, p_agent, p_tool, p_action, p_run, p_estimate, v_now,
          v_now + make_interval(secs => coalesce(v_ttl, 900)))
  returning id into v_reservation;

  return jsonb_build_object('allowed', true, 'reservation_id', v_reservation,
                            'expires_at', v_now + make_interval(secs => coalesce(v_ttl, 900)),
                            'approval_id', v_approval_id);
end
$$;


create or replace function public.actp_policy_url_check(agent_slug text, tool_name text, target_url text)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
declare
  p_agent text := agent_slug;
  p_tool text := tool_name;
  p_url text := target_url;
  v_m text[];
  v_host text;
  v_port int;
  v_default_port int;
  v_agent record;
  v_pol record;
  v_any boolean := false;
  v_exact boolean := true;
begin
  if p_agent is null or length(p_agent) > 63 or p_agent !~ '^[a-z][a-z0-9_-]*$' then
    raise exception using errcode = 'P0001', message = 'policy.invalid_agent: agent_slug must be a registered agent slug';
  end if;
  if p_tool is null or length(p_tool) > 200 or p_tool !~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]*$' then
    raise exception using errcode = 'P0001', message = 'policy.invalid_tool: tool_name must match [A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}';
  end if;
  select d.enabled into v_agent from public.actp_agent_definitions d where d.slug = p_agent;
  if not found then
    return public.actp_policy_deny('unknown_agent', format('no agent %s is registered', p_agent));
  end if;
  if not v_agent.enabled then
    return public.actp_policy_deny('agent_disabled', format('agent %s is disabled', p_agent));
  end if;
  v_m := regexp_match(coalesce(p_url, ''), '^(https?)://([a-z0-9_.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?(?:[/?][!-~]*)?$');
  if v_m is null or length(p_url) > 8192 or length(v_m[2]) > 255
     or (left(v_m[2], 1) <> '[' and v_m[2] ~ '^[.-]|[.-]$|\.[.-]|-\.') then
    return public.actp_policy_deny('invalid_url', 'target_url is not a canonical http(s) URL');
  end if;
  v_host := v_m[2];
  v_default_port := case v_m[1] when 'https' then 443 else 80 end;
  v_port := coalesce(substr(v_m[3], 2)::int, v_default_port);
  if v_port not between 1 and 65535 then
    return public.actp_policy_deny('invalid_url', 'target_url has an invalid port');
  end if;
  for v_pol in
    select p.id, p.config from public.actp_policies p
    where p.enabled and p.policy_type = 'allowlist' and p.scope in ('global', 'agent:' || p_agent, 'tool:' || p_tool)
    order by p.id
  loop
    v_any := true;
    if not exists (
      select 1 from jsonb_array_elements_text(v_pol.config -> 'allowed_domains') d(pattern)
      where public.actp_policy_host_matches(v_host, v_port, v_default_port, d.pattern)
    ) then
      return public.actp_policy_deny('domain_not_allowed', format('host %s is not in the allowlist', v_host), v_pol.id, null,
                                     jsonb_build_object('host', v_host, 'port', v_port));
    end if;
    -- Exact: an IP literal equal to the host (any port the pattern allows), or a name with its port.
    if not exists (
      select 1 from jsonb_array_elements_text(v_pol.config -> 'allowed_domains') d(pattern)
      where public.actp_policy_host_matches(v_host, v_port, v_default_port, d.pattern)
        and ((v_host ~ '^[0-9.]+$' or left(v_host, 1) = '[') or d.pattern ~ ':[0-9]{1,5}$')
        and left(d.pattern, 2) <> '*.' and d.pattern !~ '\.\*(:[0-9]+)?$'
    ) then
      v_exact := false;
    end if;
  end loop;
  return jsonb_build_object('allowed', true, 'exact', v_any and v_exact, 'host', v_host, 'port', v_port);
end
$$;
revoke all on function public.actp_policy_url_check(text, text, text) from public, anon, authenticated;
grant execute on function public.actp_policy_url_check(text, text, text) to service_role;
