-- Issue 8 §6: budgets that cannot be outrun.
-- * A check reserves max(estimate, floor). The floor is the largest min_reservation_usd of the
--   applicable budget policies and the most this agent's calls of this tool actually cost over
--   their last 20 settles (actp_policy_cost_stats, one row per (agent, tool), kept by the settle:
--   the check reads it by key). The learned part is capped at the smallest applicable limit so a
--   tool that once cost more than a whole budget is not locked out forever.
-- * A call nothing bounds (estimate 0, no floor, no settle yet) is a probe: while one is in flight
--   for an agent and tool, its twins are denied cost_unknown with a short retry_after, so a burst of
--   first calls cannot each reserve 0.
-- * A settle above its reservation is recorded as it happened: the ledger row carries the
--   reservation (reserved_usd) and the overrun (overrun_usd); the counters take the actual cost,
--   so the next checks deny until the window has room again.
-- * reservations keep the caller's estimate apart from the amount held (estimated_usd).
--
-- actp_policy_check below is 20261203204001's (the newest, with its url_required rule for network
-- tools), with only the reservation floor added.

alter table public.actp_policy_reservations
  add column estimated_usd numeric(18, 8) check (estimated_usd is null or estimated_usd >= 0);
comment on column public.actp_policy_reservations.amount_usd is
  'What the check held: max(estimated_usd, the floor of min_reservation_usd and recent actual cost).';

-- Rows written before this migration reserved exactly their estimate, so reserved = estimated.
alter table public.actp_budget_ledger
  add column reserved_usd numeric(18, 8) check (reserved_usd is null or reserved_usd >= 0),
  add column overrun_usd numeric(18, 8)
    generated always as (greatest(cost_usd - coalesce(reserved_usd, estimated_usd, cost_usd), 0)) stored;
comment on column public.actp_budget_ledger.overrun_usd is
  'Spend above what the check reserved (cost_usd - reserved_usd when positive): the budget was exceeded by this much.';
-- The check's probe lookup (open reservations of one agent and tool), see actp_policy_check.
create index actp_policy_reservations_open_tool_idx on public.actp_policy_reservations (agent_slug, tool_name)
  where status = 'reserved';
create index actp_budget_ledger_overrun_idx on public.actp_budget_ledger (created_at) where overrun_usd > 0;

-- Recent actual costs per (agent, tool): a ring of the last 20 settles and their max.
create table public.actp_policy_cost_stats (
  agent_slug text not null,
  tool_name text not null,
  recent_usd numeric[] not null check (cardinality(recent_usd) between 1 and 20),
  floor_usd numeric(18, 8) not null check (floor_usd >= 0),
  updated_at timestamptz not null default now(),
  primary key (agent_slug, tool_name)
);
comment on table public.actp_policy_cost_stats is
  'Issue 8 §6: the last 20 settled costs per agent and tool; floor_usd (their max) is what a check reserves at least.';
select public.actp_secure_table('actp_policy_cost_stats', 'read');

create or replace function public.actp_policy_config_is_valid(policy_type text, config jsonb)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
declare
  k text;
  e jsonb;
begin
  if config is null or jsonb_typeof(config) <> 'object' then
    return false;
  end if;
  if policy_type = 'budget' then
    for k in select jsonb_object_keys(config) loop
      if k not in ('daily_usd', 'per_run_usd', 'day_boundary_tz', 'reservation_ttl_seconds', 'min_reservation_usd') then
        return false;
      end if;
    end loop;
    if not (config ? 'daily_usd' or config ? 'per_run_usd') then
      return false;
    end if;
    if config ? 'daily_usd' and not public.actp_policy_json_is_usd(config -> 'daily_usd') then
      return false;
    end if;
    if config ? 'per_run_usd' and not public.actp_policy_json_is_usd(config -> 'per_run_usd') then
      return false;
    end if;
    if config ? 'day_boundary_tz' then
      if jsonb_typeof(config -> 'day_boundary_tz') <> 'string' then
        return false;
      end if;
      if not public.actp_policy_tz_is_valid(config ->> 'day_boundary_tz') then
        return false;
      end if;
    end if;
    if config ? 'reservation_ttl_seconds'
       and not public.actp_policy_json_is_count(config -> 'reservation_ttl_seconds', 10, 86400) then
      return false;
    end if;
    if config ? 'min_reservation_usd' and not public.actp_policy_json_is_usd(config -> 'min_reservation_usd') then
      return false;
    end if;
    return true;
  elsif policy_type = 'rate_limit' then
    for k in select jsonb_object_keys(config) loop
      if k not in ('tool', 'max_per_minute', 'max_per_hour') then
        return false;
      end if;
    end loop;
    if not public.actp_policy_json_is_count(config -> 'max_per_minute', 1, 1000000) then
      return false;
    end if;
    if config ? 'max_per_hour' and not public.actp_policy_json_is_count(config -> 'max_per_hour', 1, 100000000) then
      return false;
    end if;
    if config ? 'tool' then
      if jsonb_typeof(config -> 'tool') <> 'string' then
        return false;
      end if;
      if not public.actp_policy_tool_name_is_valid(config ->> 'tool') then
        return false;
      end if;
    end if;
    return true;
  elsif policy_type = 'allowlist' then
    for k in select jsonb_object_keys(config) loop
      if k <> 'allowed_domains' then
        return false;
      end if;
    end loop;
    if jsonb_typeof(config -> 'allowed_domains') is distinct from 'array' then
      return false;
    end if;
    if jsonb_array_length(config -> 'allowed_domains') > 1000 then
      return false;
    end if;
    for e in select jsonb_array_elements(config -> 'allowed_domains') loop
      if jsonb_typeof(e) <> 'string' then
        return false;
      end if;
      if not public.actp_policy_domain_pattern_is_valid(e #>> '{}') then
        return false;
      end if;
    end loop;
    return true;
  elsif policy_type = 'safety' then
    for k in select jsonb_object_keys(config) loop
      if k <> 'require_approval_for' then
        return false;
      end if;
    end loop;
    if jsonb_typeof(config -> 'require_approval_for') is distinct from 'array' then
      return false;
    end if;
    for e in select jsonb_array_elements(config -> 'require_approval_for') loop
      if jsonb_typeof(e) <> 'string' then
        return false;
      end if;
      if (e #>> '{}') !~ '^[a-z][a-z0-9_.:-]{0,99}$' then
        return false;
      end if;
    end loop;
    return true;
  end if;
  return false;
end
$$;


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
  v_floor numeric;
  v_learned numeric;
  v_cap_usd numeric;
  v_probe_expires timestamptz;
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

  -- What the call reserves: at least the policies' min_reservation_usd and the most this agent's
  -- calls of this tool actually cost lately (max of its last 20 settles, one row by key), so an
  -- estimate of 0 cannot slip past a budget N times at once. The learned part never exceeds the
  -- smallest applicable limit (so is min_reservation_usd): a tool that once cost more than the whole budget still gets one
  -- call when the window is empty, instead of being locked out for good.
  select max((p.config ->> 'min_reservation_usd')::numeric),
         min(least((p.config ->> 'daily_usd')::numeric,
                   case when p_run is not null then (p.config ->> 'per_run_usd')::numeric end)) * v_factor,
         (select s.floor_usd from public.actp_policy_cost_stats s where s.agent_slug = p_agent and s.tool_name = p_tool)
    into v_floor, v_cap_usd, v_learned
  from public.actp_policies p
  where p.enabled and p.policy_type = 'budget' and p.scope in ('global', 'agent:' || p_agent, 'tool:' || p_tool);
  if v_cap_usd is not null then
    v_amount := greatest(v_amount, least(greatest(coalesce(v_floor, 0), coalesce(v_learned, 0)), v_cap_usd));
    -- Nothing bounds this call's cost (an estimate of 0, no floor, never settled): the first such
    -- call is the probe that learns it, and its twins wait for that settle instead of all reserving
    -- 0 at once (denied in the budget step below). We hold the budgets' locks, so a racing check
    -- sees the probe's committed reservation. A probe that never settles stops counting when its
    -- reservation expires.
    if v_amount = 0 and v_learned is null then
      select min(x.expires_at) into v_probe_expires
      from public.actp_policy_reservations x
      where x.status = 'reserved' and x.agent_slug = p_agent and x.tool_name = p_tool
        and x.amount_usd = 0 and x.expires_at > v_now;
    end if;
  end if;

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
      if v_probe_expires is not null then
        return public.actp_policy_deny('cost_unknown',
          format('the cost of %s is not known yet: its first call is in flight (set min_reservation_usd on the budget to admit calls in parallel)', p_tool),
          v_pol.id,
          greatest(1, least(5, ceil(extract(epoch from (v_probe_expires - v_clock)))))::int,
          jsonb_build_object('estimated_usd', p_estimate, 'reserved_usd', 0));
      end if;
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
        if v_run_used + v_amount > v_limit then
          return public.actp_policy_deny('budget_exceeded',
            format('per-run budget %s USD would be exceeded', v_limit), v_pol.id, null,
            jsonb_build_object('limit', 'per_run_usd', 'limit_usd', v_limit, 'used_usd', v_run_used,
                               'estimated_usd', p_estimate, 'reserved_usd', v_amount, 'incident_mode', v_factor < 1));
        end if;
      end if;
      if v_pol.config ? 'daily_usd' then
        v_limit := (v_pol.config ->> 'daily_usd')::numeric * v_factor;
        if v_daily_used + v_amount > v_limit then
          return public.actp_policy_deny('budget_exceeded',
            format('daily budget %s USD would be exceeded', v_limit), v_pol.id,
            case when v_amount <= v_limit then
              greatest(1, ceil(extract(epoch from (v_day_end - v_clock))))::int
            end,
            jsonb_build_object('limit', 'daily_usd', 'limit_usd', v_limit, 'used_usd', v_daily_used,
                               'estimated_usd', p_estimate, 'reserved_usd', v_amount, 'day_start', v_day_start, 'day_boundary_tz', v_tz,
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
  insert into public.actp_policy_reservations (policy_ids, agent_slug, tool_name, action_type, run_id, amount_usd, estimated_usd, created_at, expires_at)
  values (v_budget_ids, p_agent, p_tool, p_action, p_run, v_amount, p_estimate, v_now,
          v_now + make_interval(secs => coalesce(v_ttl, 900)))
  returning id into v_reservation;

  return jsonb_build_object('allowed', true, 'reservation_id', v_reservation, 'reserved_usd', v_amount,
                            'expires_at', v_now + make_interval(secs => coalesce(v_ttl, 900)),
                            'approval_id', v_approval_id);
end
$$;


create or replace function public.actp_policy_settle(reservation_id uuid, actual_cost_usd numeric)
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
  -- What the next check of this agent and tool reserves at least: the max of its last 20 settles.
  insert into public.actp_policy_cost_stats as s (agent_slug, tool_name, recent_usd, floor_usd, updated_at)
  values (r.agent_slug, r.tool_name, array[p_cost], p_cost, v_at)
  on conflict (agent_slug, tool_name) do update
    set recent_usd = (s.recent_usd || p_cost)[greatest(1, cardinality(s.recent_usd) - 18):],
        floor_usd = (select max(x) from unnest((s.recent_usd || p_cost)[greatest(1, cardinality(s.recent_usd) - 18):]) x),
        updated_at = excluded.updated_at;
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


revoke all on function public.actp_policy_check(text, text, text, uuid, numeric, text, text) from public, anon, authenticated;
revoke all on function public.actp_policy_settle(uuid, numeric) from public, anon, authenticated;
grant execute on function public.actp_policy_check(text, text, text, uuid, numeric, text, text) to service_role;
grant execute on function public.actp_policy_settle(uuid, numeric) to service_role;
