-- Tool-level circuit breakers (PRD §4.12), shared by every worker: configuration per tool and the
-- state of each breaker live here, and every transition is decided by one SQL function under a row
-- lock, so fifty workers see one breaker, not fifty. Workers cache a closed state for about a second
-- (shared/circuits/breakers.ts), so a healthy tool costs no extra round trip.
--
-- State machine: closed --(failure_threshold failures within window_seconds)--> open
--                open --(recovery_probe_seconds elapsed, first caller)--> half_open (that caller holds the probe lease)
--                half_open --(probe succeeds)--> closed;  half_open --(probe fails)--> open
-- A probe lease that expires without a result (the worker died) is handed to the next caller.

-- Tool names as the SDK and the URL paths of the circuits function use them: "browser.fetch",
-- "model:claude-haiku-4-5". No slash, so a name is always one path segment.
create or replace function public.actp_circuit_tool_name_valid(p_name text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_name ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$';
$$;

create table public.actp_circuit_configs (
  -- '*' is the default for every tool without a row of its own.
  tool_name text primary key
    check (tool_name = '*' or public.actp_circuit_tool_name_valid(tool_name)),
  failure_threshold int not null default 5 check (failure_threshold between 1 and 10000),
  window_seconds int not null default 60 check (window_seconds between 1 and 86400),
  recovery_probe_seconds int not null default 30 check (recovery_probe_seconds between 1 and 86400),
  -- How long the one half-open caller may take before another caller gets the probe instead.
  probe_lease_seconds int not null default 30 check (probe_lease_seconds between 1 and 3600),
  fallback_tool text
    check (fallback_tool is null or public.actp_circuit_tool_name_valid(fallback_tool)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (fallback_tool is null or (tool_name <> '*' and fallback_tool <> tool_name))
);
comment on table public.actp_circuit_configs is
  'PRD §4.12: breaker configuration per tool; the row ''*'' applies to tools without their own.';

insert into public.actp_circuit_configs (tool_name) values ('*') on conflict (tool_name) do nothing;

create trigger tg_actp_circuit_configs__touch
  before update on public.actp_circuit_configs
  for each row execute function public.actp_touch_updated_at();

create table public.actp_circuit_states (
  tool_name text primary key check (public.actp_circuit_tool_name_valid(tool_name)),
  state text not null default 'closed' check (state in ('closed', 'open', 'half_open')),
  -- Timestamps of the most recent failures inside the window, newest first, at most
  -- failure_threshold of them: an exact sliding window in a bounded row.
  recent_failures timestamptz[] not null default '{}',
  opened_at timestamptz,
  reopens_at timestamptz,
  probe_id uuid,
  probe_holder text check (probe_holder is null or length(probe_holder) between 1 and 200),
  probe_lease_expires_at timestamptz,
  last_error jsonb check (last_error is null or jsonb_typeof(last_error) = 'object'),
  updated_at timestamptz not null default now(),
  check ((state = 'closed') = (opened_at is null)),
  check ((state = 'open') = (reopens_at is not null)),
  check ((state = 'half_open') = (probe_id is not null and probe_lease_expires_at is not null))
);
comment on table public.actp_circuit_states is
  'PRD §4.12: the state of each tool''s breaker, shared by all workers; changed only by actp_circuit_* functions.';

-- The effective configuration of one tool: its row, else the '*' row, else the PRD's defaults.
create or replace function public.actp_circuit_config(p_tool text)
returns table (
  tool_name text,
  failure_threshold int,
  window_seconds int,
  recovery_probe_seconds int,
  probe_lease_seconds int,
  fallback_tool text,
  is_default boolean
)
language sql
stable
set search_path = ''
as $$
  select p_tool, c.failure_threshold, c.window_seconds, c.recovery_probe_seconds, c.probe_lease_seconds,
         c.fallback_tool, c.tool_name = '*'
  from (
    select 1 as rank, x.tool_name, x.failure_threshold, x.window_seconds, x.recovery_probe_seconds,
           x.probe_lease_seconds, x.fallback_tool
    from public.actp_circuit_configs x where x.tool_name = p_tool
    union all
    select 2, x.tool_name, x.failure_threshold, x.window_seconds, x.recovery_probe_seconds,
           x.probe_lease_seconds, null::text
    from public.actp_circuit_configs x where x.tool_name = '*'
    union all
    select 3, '*', 5, 60, 30, 30, null::text
  ) c
  order by c.rank
  limit 1;
$$;

-- Each transition is emitted twice, as §4.12 names it (tool.circuit_*) and as §4.5's reliability
-- group names it (circuit.*), in the caller's transaction.
create or replace function public.actp_circuit_emit(p_kind text, p_tool text, p_payload jsonb)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform public.actp_emit('tool.circuit_' || p_kind, p_payload, null, null, null, p_tool);
  perform public.actp_emit('circuit.' || p_kind, p_payload, null, null, null, p_tool);
end
$$;

create or replace function public.actp_circuit_check_tool(p_tool text)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_tool is null or not public.actp_circuit_tool_name_valid(p_tool) then
    raise exception using errcode = 'P0001',
      message = format('circuits.invalid_tool: %s is not a valid tool name (letters, digits, ".", "_", ":", "-"; at most 200)',
                       coalesce(quote_literal(left(p_tool, 60)), 'null'));
  end if;
end
$$;

-- Whole seconds until ts, at least 1: what a refused caller is told to wait.
create or replace function public.actp_circuit_seconds_until(p_ts timestamptz)
returns int
language sql
stable
set search_path = ''
as $$
  select greatest(1, ceil(extract(epoch from (p_ts - now())))::int);
$$;

create or replace function public.actp_circuit_open_payload(
  p_tool text, p_failures int, p_reopens_at timestamptz, p_window int, p_threshold int, p_fallback text, p_error jsonb, p_extra jsonb default '{}'::jsonb
)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'tool', p_tool,
    'failures', greatest(p_failures, 0),
    'window_seconds', p_window,
    'reopens_at', to_jsonb(p_reopens_at),
    'threshold', p_threshold,
    'fallback', p_fallback
  )
  || case when jsonb_typeof(p_error) = 'object' and jsonb_typeof(p_error -> 'message') = 'string'
          then jsonb_build_object('last_error', p_error) else '{}'::jsonb end
  || coalesce(p_extra, '{}'::jsonb);
$$;

-- May this caller call the tool now? One round trip, and no write at all unless the caller is the
-- one that takes the half-open probe. Returns
--   { decision: 'allow' | 'probe' | 'reject' | 'fallback', state, fallback_tool?, retry_after?, probe_id?, lease_expires_at? }
-- 'reject' and 'fallback' both mean "not this tool now"; 'fallback' names the configured substitute.
create or replace function public.actp_circuit_acquire(p_tool text, p_holder text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  cfg record;
  st public.actp_circuit_states%rowtype;
  v_probe uuid;
  v_expires timestamptz;
  v_wait_until timestamptz;
begin
  perform public.actp_circuit_check_tool(p_tool);
  select * into cfg from public.actp_circuit_config(p_tool);

  -- Unlocked read first: a closed or plainly open breaker is answered without taking a lock.
  select * into st from public.actp_circuit_states s where s.tool_name = p_tool;
  if not found or st.state = 'closed' then
    return jsonb_build_object('decision', 'allow', 'state', 'closed');
  end if;

  if (st.state = 'open' and st.reopens_at > now())
     or (st.state = 'half_open' and st.probe_lease_expires_at > now()) then
    v_wait_until := coalesce(st.reopens_at, st.probe_lease_expires_at);
  else
    -- The probe is due. Lock the row and look again: of all callers arriving now, exactly the first
    -- one to get the lock sees the probe still free; the others wait here and then see its lease.
    select * into st from public.actp_circuit_states s where s.tool_name = p_tool for update;
    if st.state = 'closed' then
      return jsonb_build_object('decision', 'allow', 'state', 'closed');
    end if;
    if (st.state = 'open' and st.reopens_at > now())
       or (st.state = 'half_open' and st.probe_lease_expires_at > now()) then
      v_wait_until := coalesce(st.reopens_at, st.probe_lease_expires_at);
    else
      v_probe := gen_random_uuid();
      v_expires := now() + make_interval(secs => cfg.probe_lease_seconds);
      update public.actp_circuit_states
         set state = 'half_open', reopens_at = null, probe_id = v_probe,
             probe_holder = left(p_holder, 200), probe_lease_expires_at = v_expires, updated_at = now()
       where tool_name = p_tool;
      -- A lease handed on after its holder vanished is not a new transition.
      if st.state = 'open' then
        perform public.actp_circuit_emit('half_open', p_tool,
          jsonb_build_object('tool', p_tool, 'opened_at', to_jsonb(st.opened_at)));
      end if;
      return jsonb_build_object('decision', 'probe', 'state', 'half_open', 'probe_id', v_probe,
                                'lease_expires_at', to_jsonb(v_expires));
    end if;
  end if;

  return jsonb_build_object(
    'decision', case when cfg.fallback_tool is null then 'reject' else 'fallback' end,
    'state', st.state,
    'fallback_tool', cfg.fallback_tool,
    'retry_after', public.actp_circuit_seconds_until(v_wait_until)
  );
end
$$;

-- Records the outcome of a call. Successes outside a probe change nothing and write nothing (the
-- worker does not even send them while the breaker is closed); failures are counted in the sliding
-- window under the row lock, so concurrent failures open the breaker exactly once.
-- p_probe_id, when given, must be the current lease: a probe result arriving after its lease was
-- handed on is treated as an ordinary call. Returns { state, transition: 'opened' | 'closed' | null }.
create or replace function public.actp_circuit_record(
  p_tool text,
  p_success boolean,
  p_is_probe boolean default false,
  p_probe_id uuid default null,
  p_error jsonb default null
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  cfg record;
  st public.actp_circuit_states%rowtype;
  v_failures timestamptz[];
  v_reopens timestamptz;
  v_error jsonb := case when jsonb_typeof(p_error) = 'object' then p_error else null end;
  v_probe boolean;
begin
  perform public.actp_circuit_check_tool(p_tool);
  if p_success is null then
    raise exception using errcode = 'P0001', message = 'circuits.invalid_outcome: success must be true or false';
  end if;

  if p_success and not coalesce(p_is_probe, false) then
    select * into st from public.actp_circuit_states s where s.tool_name = p_tool;
    return jsonb_build_object('state', coalesce(st.state, 'closed'), 'transition', null);
  end if;

  select * into cfg from public.actp_circuit_config(p_tool);
  insert into public.actp_circuit_states (tool_name) values (p_tool) on conflict (tool_name) do nothing;
  select * into st from public.actp_circuit_states s where s.tool_name = p_tool for update;

  v_probe := coalesce(p_is_probe, false) and st.state = 'half_open'
             and (p_probe_id is null or st.probe_id = p_probe_id);

  if v_probe and p_success then
    update public.actp_circuit_states
       set state = 'closed', recent_failures = '{}', opened_at = null, reopens_at = null, probe_id = null,
           probe_holder = null, probe_lease_expires_at = null, updated_at = now()
     where tool_name = p_tool;
    perform public.actp_circuit_emit('closed', p_tool, jsonb_build_object(
      'tool', p_tool, 'reason', 'probe_succeeded',
      'open_ms', greatest(0, floor(extract(epoch from (now() - st.opened_at)) * 1000))::bigint));
    return jsonb_build_object('state', 'closed', 'transition', 'closed');
  end if;

  if v_probe then
    -- The probe failed: open again for another full recovery period.
    v_reopens := now() + make_interval(secs => cfg.recovery_probe_seconds);
    update public.actp_circuit_states
       set state = 'open', opened_at = now(), reopens_at = v_reopens, probe_id = null, probe_holder = null,
           probe_lease_expires_at = null, last_error = coalesce(v_error, last_error), updated_at = now()
     where tool_name = p_tool;
    perform public.actp_circuit_emit('open', p_tool, public.actp_circuit_open_payload(
      p_tool, coalesce(cardinality(st.recent_failures), 0), v_reopens, cfg.window_seconds,
      cfg.failure_threshold, cfg.fallback_tool, v_error, jsonb_build_object('probe_failed', true, 'reason', 'probe_failed')));
    return jsonb_build_object('state', 'open', 'transition', 'opened', 'retry_after', cfg.recovery_probe_seconds);
  end if;

  if p_success or st.state <> 'closed' then
    -- Late results of calls that started before the breaker opened do not move it.
    return jsonb_build_object('state', st.state, 'transition', null);
  end if;

  v_failures := array(
    select f from unnest(array_prepend(now(), st.recent_failures)) f
    where f > now() - make_interval(secs => cfg.window_seconds)
    order by f desc
    limit cfg.failure_threshold
  );

  if cardinality(v_failures) >= cfg.failure_threshold then
    v_reopens := now() + make_interval(secs => cfg.recovery_probe_seconds);
    update public.actp_circuit_states
       set state = 'open', recent_failures = v_failures, opened_at = now(), reopens_at = v_reopens,
           last_error = coalesce(v_error, last_error), updated_at = now()
     where tool_name = p_tool;
    perform public.actp_circuit_emit('open', p_tool, public.actp_circuit_open_payload(
      p_tool, cardinality(v_failures), v_reopens, cfg.window_seconds, cfg.failure_threshold, cfg.fallback_tool, v_error,
      jsonb_build_object('reason', 'failure_threshold')));
    return jsonb_build_object('state', 'open', 'transition', 'opened', 'retry_after', cfg.recovery_probe_seconds);
  end if;

  update public.actp_circuit_states
     set recent_failures = v_failures, last_error = coalesce(v_error, last_error), updated_at = now()
   where tool_name = p_tool;
  return jsonb_build_object('state', 'closed', 'transition', null, 'failures', cardinality(v_failures));
end
$$;

-- Operator actions (the circuits function, service role only).
create or replace function public.actp_circuit_reset(p_tool text)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  st public.actp_circuit_states%rowtype;
begin
  perform public.actp_circuit_check_tool(p_tool);
  select * into st from public.actp_circuit_states s where s.tool_name = p_tool for update;
  if not found then
    if not exists (select 1 from public.actp_circuit_configs c where c.tool_name = p_tool) then
      raise exception using errcode = 'P0001',
        message = format('circuits.not_found: no breaker state or configuration for tool %s', quote_literal(p_tool));
    end if;
    return jsonb_build_object('state', 'closed', 'transition', null);
  end if;
  update public.actp_circuit_states
     set state = 'closed', recent_failures = '{}', opened_at = null, reopens_at = null, probe_id = null,
         probe_holder = null, probe_lease_expires_at = null, updated_at = now()
   where tool_name = p_tool;
  if st.state = 'closed' then
    return jsonb_build_object('state', 'closed', 'transition', null);
  end if;
  perform public.actp_circuit_emit('closed', p_tool, jsonb_build_object(
    'tool', p_tool, 'reason', 'manual_reset',
    'open_ms', greatest(0, floor(extract(epoch from (now() - st.opened_at)) * 1000))::bigint));
  return jsonb_build_object('state', 'closed', 'transition', 'closed');
end
$$;

-- Opens the breaker now, for p_seconds (default: the tool's recovery_probe_seconds) before a probe.
create or replace function public.actp_circuit_force_open(p_tool text, p_seconds int default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  cfg record;
  st public.actp_circuit_states%rowtype;
  v_reopens timestamptz;
begin
  perform public.actp_circuit_check_tool(p_tool);
  if p_seconds is not null and (p_seconds < 1 or p_seconds > 86400) then
    raise exception using errcode = 'P0001', message = 'circuits.invalid_duration: seconds must be between 1 and 86400';
  end if;
  select * into cfg from public.actp_circuit_config(p_tool);
  insert into public.actp_circuit_states (tool_name) values (p_tool) on conflict (tool_name) do nothing;
  select * into st from public.actp_circuit_states s where s.tool_name = p_tool for update;
  v_reopens := now() + make_interval(secs => coalesce(p_seconds, cfg.recovery_probe_seconds));
  update public.actp_circuit_states
     set state = 'open', opened_at = case when st.state = 'open' then st.opened_at else now() end,
         reopens_at = v_reopens, probe_id = null, probe_holder = null, probe_lease_expires_at = null, updated_at = now()
   where tool_name = p_tool;
  if st.state <> 'open' then
    perform public.actp_circuit_emit('open', p_tool, public.actp_circuit_open_payload(
      p_tool, cardinality(st.recent_failures), v_reopens, cfg.window_seconds, cfg.failure_threshold,
      cfg.fallback_tool, null, jsonb_build_object('forced', true, 'reason', 'forced')));
  end if;
  return jsonb_build_object('state', 'open', 'transition', case when st.state <> 'open' then 'opened' end,
                            'reopens_at', to_jsonb(v_reopens));
end
$$;

-- Configs and states as the dashboard and GET /circuits show them: every tool with either.
create or replace function public.actp_circuit_overview(p_tool text default null)
returns table (
  tool_name text, state text, failures int, opened_at timestamptz, reopens_at timestamptz,
  probe_lease_expires_at timestamptz, last_error jsonb, updated_at timestamptz, config jsonb
)
language sql
stable
set search_path = ''
as $$
  select t.tool_name,
         coalesce(s.state, 'closed'),
         coalesce(cardinality(s.recent_failures), 0),
         s.opened_at, s.reopens_at, s.probe_lease_expires_at, s.last_error, s.updated_at,
         (select jsonb_build_object(
            'failure_threshold', c.failure_threshold, 'window_seconds', c.window_seconds,
            'recovery_probe_seconds', c.recovery_probe_seconds, 'probe_lease_seconds', c.probe_lease_seconds,
            'fallback_tool', c.fallback_tool, 'is_default', c.is_default)
          from public.actp_circuit_config(t.tool_name) c)
  from (
    select tool_name from public.actp_circuit_states
    union
    select tool_name from public.actp_circuit_configs where tool_name <> '*'
  ) t
  left join public.actp_circuit_states s on s.tool_name = t.tool_name
  where p_tool is null or t.tool_name = p_tool
  order by t.tool_name;
$$;

select public.actp_secure_table('actp_circuit_configs', 'read');
select public.actp_secure_table('actp_circuit_states', 'read');

revoke execute on function public.actp_circuit_acquire(text, text) from public, anon, authenticated;
revoke execute on function public.actp_circuit_record(text, boolean, boolean, uuid, jsonb) from public, anon, authenticated;
revoke execute on function public.actp_circuit_reset(text) from public, anon, authenticated;
revoke execute on function public.actp_circuit_force_open(text, int) from public, anon, authenticated;
revoke execute on function public.actp_circuit_emit(text, text, jsonb) from public, anon, authenticated;
grant execute on function public.actp_circuit_acquire(text, text) to service_role;
grant execute on function public.actp_circuit_record(text, boolean, boolean, uuid, jsonb) to service_role;
grant execute on function public.actp_circuit_reset(text) to service_role;
grant execute on function public.actp_circuit_force_open(text, int) to service_role;
grant execute on function public.actp_circuit_emit(text, text, jsonb) to service_role;
revoke execute on function public.actp_circuit_overview(text) from public, anon;
grant execute on function public.actp_circuit_overview(text) to authenticated, service_role;
