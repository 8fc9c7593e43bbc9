-- PRD §4.2 Policy service: budgets, rate limits, domain allowlists and safety approvals, decided by
-- ONE function (actp_policy_check) in one round trip, correct with many workers asking at once.
--
-- Decisions recorded here:
-- * "Daily" is the calendar day in the budget policy's `day_boundary_tz` (an IANA zone, default
--   'UTC'): the window runs from local midnight to the next local midnight. Ledger rows count by
--   created_at (the settle time); unexpired open reservations always count, whatever day made them.
-- * Reserved + settled spend counts against every limit. The check locks the applicable budget
--   and rate-limit policy rows (FOR NO KEY UPDATE, in id order, so checks never deadlock) and reads
--   spend in ONE statement taken after the lock, so READ COMMITTED sees every committed check.
--   Spend is read from counter rows (actp_policy_budget_days / _runs), not summed from the ledger,
--   so a check costs the same with 100 or 10 million ledger rows; the window is taken from
--   clock_timestamp() under the lock, so per policy it only moves forward.
-- * Incident mode (actp_platform_mode() = 'incident') halves daily_usd AND per_run_usd.
-- * Rate limits are exact: calls are recorded with clock_timestamp() taken under the policy lock,
--   so recorded times are monotonic per policy and no 60 s (or 3600 s) window holds more than
--   the limit. Calls live in a ring of `limit` slots per window, so a check reads one slot.
-- * Allowlist patterns: "docs.*" = first label is docs (any rest, never an IP); "*.vercel.app" =
--   any subdomain at any depth, NOT the apex (list "vercel.app" too if wanted); otherwise exact.
--   A pattern without a port matches only the scheme's default port; "host:8443" that port.
-- * Unsettled reservations expire at expires_at: the check ignores them at once (lazy expiry) and
--   the schedule 'actp:policy:expire-reservations' marks them expired. Settling an expired
--   reservation still records the spend (the ledger is the truth of what was spent).

-- Validation helpers (CHECK constraints use them; TS mirrors them in shared/policy/contracts.ts) ---

create or replace function public.actp_policy_tz_is_valid(tz text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  if tz is null or length(tz) > 64 or tz !~ '^[A-Za-z][A-Za-z0-9_+/-]*$' then
    return false;
  end if;
  perform '2000-01-01 00:00:00+00'::timestamptz at time zone tz;
  return true;
exception when others then
  return false;
end
$$;

-- Tool names as ctx.tool and the events table know them: "browser.fetch", "anthropic.messages".
create or replace function public.actp_policy_tool_name_is_valid(name text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select name is not null and name ~ '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$';
$$;

create or replace function public.actp_policy_scope_is_valid(scope text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select scope is not null and (
    scope = 'global'
    or scope ~ '^agent:[a-z][a-z0-9_-]{0,62}$'
    or (scope ~ '^tool:' and public.actp_policy_tool_name_is_valid(substr(scope, 6)))
  );
$$;

-- Allowlist patterns are lowercase ASCII (IDN as punycode), with an optional port.
create or replace function public.actp_policy_domain_pattern_is_valid(pattern text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select pattern is not null
    and length(pattern) <= 260
    and pattern ~ '^(\*\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$'
    and coalesce(substring(pattern from ':([0-9]{1,5})$')::int, 1) between 1 and 65535;
$$;

create or replace function public.actp_policy_json_is_count(v jsonb, lo int, hi int)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  if v is null or jsonb_typeof(v) <> 'number' or v::text !~ '^[0-9]{1,9}$' then
    return false;
  end if;
  return v::text::int between lo and hi;
end
$$;

create or replace function public.actp_policy_json_is_usd(v jsonb)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  if v is null or jsonb_typeof(v) <> 'number' then
    return false;
  end if;
  return v::text::numeric between 0 and 1000000000;
end
$$;

-- One validator per policy type; unknown keys are refused so a typo ("daily_usdd") is a 400,
-- not a silently unlimited budget.
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
      if k not in ('daily_usd', 'per_run_usd', 'day_boundary_tz', 'reservation_ttl_seconds') then
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

-- Tables ------------------------------------------------------------------------------------------

create table public.actp_policies (
  id uuid primary key default gen_random_uuid(),
  scope text not null constraint actp_policies_scope_format check (public.actp_policy_scope_is_valid(scope)),
  policy_type text not null check (policy_type in ('budget', 'rate_limit', 'allowlist', 'safety')),
  config jsonb not null,
  description text not null default '' check (length(description) <= 2000),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint actp_policies_config_valid check (public.actp_policy_config_is_valid(policy_type, config))
);
comment on table public.actp_policies is
  'PRD §4.2: budget / rate_limit / allowlist / safety policies, scoped global, agent:<slug> or tool:<name>.';
create index actp_policies_scope_idx on public.actp_policies (scope, policy_type) where enabled;

create trigger tg_actp_policies__touch
  before update on public.actp_policies
  for each row execute function public.actp_touch_updated_at();

-- One row per allowed check: the estimate held against the budgets until settled or expired.
create table public.actp_policy_reservations (
  id uuid primary key default gen_random_uuid(),
  -- The budget policies the estimate was reserved against (informational; spend is matched by scope).
  policy_ids uuid[] not null default '{}',
  agent_slug text not null,
  tool_name text not null,
  action_type text not null,
  run_id uuid,
  amount_usd numeric(18, 8) not null check (amount_usd >= 0),
  status text not null default 'reserved' check (status in ('reserved', 'settled', 'expired')),
  actual_usd numeric(18, 8) check (actual_usd is null or actual_usd >= 0),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  settled_at timestamptz,
  check ((status = 'settled') = (settled_at is not null)),
  check ((status = 'settled') = (actual_usd is not null)),
  check (expires_at > created_at)
);
create index actp_policy_reservations_open_idx on public.actp_policy_reservations (expires_at)
  where status = 'reserved';
create index actp_policy_reservations_open_run_idx on public.actp_policy_reservations (run_id)
  where status = 'reserved';

-- PRD §4.2 append-only spend log. cost is numeric: float sums drift, and a limit is a money amount.
create table public.actp_budget_ledger (
  id uuid primary key default gen_random_uuid(),
  agent_slug text not null,
  tool_name text not null,
  action_type text,
  cost_usd numeric(18, 8) not null check (cost_usd >= 0),
  estimated_usd numeric(18, 8) check (estimated_usd is null or estimated_usd >= 0),
  run_id uuid,
  -- unique: a reservation is settled at most once, whatever the caller does.
  reservation_id uuid unique references public.actp_policy_reservations (id),
  created_at timestamptz not null default now()
);
comment on table public.actp_budget_ledger is 'PRD §4.2: append-only spend log (one row per settled reservation).';
create index actp_budget_ledger_time_idx on public.actp_budget_ledger (created_at) include (cost_usd);
create index actp_budget_ledger_agent_idx on public.actp_budget_ledger (agent_slug, created_at) include (cost_usd);
create index actp_budget_ledger_tool_idx on public.actp_budget_ledger (tool_name, created_at) include (cost_usd);
create index actp_budget_ledger_run_idx on public.actp_budget_ledger (run_id) include (cost_usd) where run_id is not null;

create trigger tg_actp_budget_ledger__append_only
  before update or delete on public.actp_budget_ledger
  for each row execute function public.actp_reject_mutation();
create trigger tg_actp_budget_ledger__no_truncate
  before truncate on public.actp_budget_ledger
  for each statement execute function public.actp_reject_mutation();

-- Rate limits are ring buffers: per (policy, window) the last `capacity` admitted calls, call n in
-- slot n % capacity. A new call fits iff the call `capacity` places back (the slot it would
-- overwrite) has left the window: exact, and O(1) however busy the tool is. Rows older than any
-- window are pruned by the schedule; a missing slot simply means "long ago".
create table public.actp_rate_limit_windows (
  policy_id uuid not null references public.actp_policies (id) on delete cascade,
  window_seconds int not null check (window_seconds in (60, 3600)),
  capacity int not null check (capacity > 0),
  next_seq bigint not null default 0 check (next_seq >= 0),
  primary key (policy_id, window_seconds)
);

create table public.actp_rate_limit_calls (
  id bigint generated always as identity primary key,
  policy_id uuid not null references public.actp_policies (id) on delete cascade,
  window_seconds int not null check (window_seconds in (60, 3600)),
  slot int not null,
  agent_slug text not null,
  tool_name text not null,
  run_id uuid,
  called_at timestamptz not null,
  unique (policy_id, window_seconds, slot)
);
create index actp_rate_limit_calls_time_idx on public.actp_rate_limit_calls (called_at);

-- Budget counters: derived from the ledger and the open reservations, so a check reads two rows
-- instead of summing history. The ledger stays the truth; actp_policy_counter_drift() compares
-- them. A missing row is (re)built from the truth by the next check under the policy's lock, so
-- deleting counters is always safe (policy changes do it; the schedule prunes old ones).
--  * settled_usd: ledger rows of the policy's scope in the window (a day: by created_at in
--    [day_start, day_end); a run: all of the run's rows).
--  * reserved_usd: open (status 'reserved') reservations of the policy's scope. For days it sits
--    on the policy's newest row only: opening a new day carries it forward, because an open
--    reservation counts whatever day made it.
-- Writers: checks (under the policy row lock), settles and expiry (under FOR SHARE on the
-- policy rows), so a rebuild under the lock never misses an in-flight change.
create table public.actp_policy_budget_days (
  policy_id uuid not null references public.actp_policies (id) on delete cascade,
  day_start timestamptz not null,
  day_end timestamptz not null,
  settled_usd numeric not null default 0,
  reserved_usd numeric not null default 0,
  updated_at timestamptz not null default now(),
  primary key (policy_id, day_start),
  check (day_end > day_start)
);

create table public.actp_policy_budget_runs (
  policy_id uuid not null references public.actp_policies (id) on delete cascade,
  run_id uuid not null,
  settled_usd numeric not null default 0,
  reserved_usd numeric not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (policy_id, run_id)
);
-- Pruning finds old rows by created_at, which never changes: an index on updated_at would make
-- every counter update (two per tool call) a non-HOT update with new index entries.
create index actp_policy_budget_runs_age_idx on public.actp_policy_budget_runs (created_at);

create table public.actp_policy_approvals (
  id uuid primary key default gen_random_uuid(),
  policy_id uuid references public.actp_policies (id) on delete set null,
  run_id uuid,
  agent_slug text not null,
  tool_name text not null,
  action_type text not null,
  args_hash text check (args_hash is null or length(args_hash) between 1 and 200),
  status text not null default 'pending' check (status in ('pending', 'approved', 'denied', 'consumed')),
  requested_at timestamptz not null default now(),
  decided_by text check (decided_by is null or length(decided_by) between 1 and 200),
  decided_at timestamptz,
  note text check (note is null or length(note) <= 2000),
  consumed_at timestamptz,
  check ((status = 'pending') = (decided_at is null)),
  check ((status = 'consumed') = (consumed_at is not null))
);
-- At most one open request per exact call: concurrent denied checks share it.
create unique index actp_policy_approvals_one_pending_idx on public.actp_policy_approvals
  (coalesce(run_id, '00000000-0000-0000-0000-000000000000'::uuid), agent_slug, tool_name, action_type, coalesce(args_hash, ''))
  where status = 'pending';
create index actp_policy_approvals_call_idx on public.actp_policy_approvals (tool_name, action_type, run_id, requested_at);
create index actp_policy_approvals_status_idx on public.actp_policy_approvals (status, requested_at);

-- Host matching (mirrors shared/net/allowlist.ts) ------------------------------------------------

-- effective_port is the URL's port or its scheme's default; a pattern without a port matches
-- only the default port.
create or replace function public.actp_policy_host_matches(host text, effective_port int, default_port int, pattern text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_port int := substring(pattern from ':([0-9]{1,5})$')::int;
  v_pat text := case when v_port is null then pattern else regexp_replace(pattern, ':[0-9]{1,5}$', '') end;
  v_is_ip boolean := host ~ '^[0-9.]+$' or left(host, 1) = '[';
  v_suffix text;
begin
  if host is null or pattern is null then
    return false;
  end if;
  if coalesce(v_port, default_port) <> effective_port then
    return false;
  end if;
  if left(v_pat, 2) = '*.' then
    v_suffix := substr(v_pat, 2);  -- ".vercel.app"
    return not v_is_ip and length(host) > length(v_suffix) and right(host, length(v_suffix)) = v_suffix;
  elsif right(v_pat, 2) = '.*' then
    return not v_is_ip and position('.' in host) > 0
      and split_part(host, '.', 1) = left(v_pat, length(v_pat) - 2);
  end if;
  return host = v_pat;
end
$$;

-- Counter rebuilds (the truth the counters are derived from) ------------------------------------

-- Ledger spend of a scope: in [from, to) when given, of one run when given. One branch per scope
-- kind so each query uses its index.
create or replace function public.actp_policy_ledger_spend(scope text, since timestamptz, until timestamptz, run uuid)
returns numeric
language plpgsql
stable
set search_path = ''
as $$
declare
  v_kind text := split_part(scope, ':', 1);
  v_name text := substr(scope, length(v_kind) + 2);
  v numeric;
begin
  if run is not null then
    select sum(l.cost_usd) into v from public.actp_budget_ledger l
    where l.run_id = run and (v_kind = 'global' or (v_kind = 'agent' and l.agent_slug = v_name) or (v_kind = 'tool' and l.tool_name = v_name));
  elsif v_kind = 'agent' then
    select sum(l.cost_usd) into v from public.actp_budget_ledger l where l.agent_slug = v_name and l.created_at >= since and l.created_at < until;
  elsif v_kind = 'tool' then
    select sum(l.cost_usd) into v from public.actp_budget_ledger l where l.tool_name = v_name and l.created_at >= since and l.created_at < until;
  else
    select sum(l.cost_usd) into v from public.actp_budget_ledger l where l.created_at >= since and l.created_at < until;
  end if;
  return coalesce(v, 0);
end
$$;

-- Open reservations of a scope (of one run when given), expired or not: what reserved_usd holds.
create or replace function public.actp_policy_open_reserved(scope text, run uuid)
returns numeric
language plpgsql
stable
set search_path = ''
as $$
declare
  v_kind text := split_part(scope, ':', 1);
  v_name text := substr(scope, length(v_kind) + 2);
  v numeric;
begin
  if run is not null then
    select sum(r.amount_usd) into v from public.actp_policy_reservations r
    where r.status = 'reserved' and r.run_id = run
      and (v_kind = 'global' or (v_kind = 'agent' and r.agent_slug = v_name) or (v_kind = 'tool' and r.tool_name = v_name));
  elsif v_kind = 'agent' then
    select sum(r.amount_usd) into v from public.actp_policy_reservations r where r.status = 'reserved' and r.agent_slug = v_name;
  elsif v_kind = 'tool' then
    select sum(r.amount_usd) into v from public.actp_policy_reservations r where r.status = 'reserved' and r.tool_name = v_name;
  else
    select sum(r.amount_usd) into v from public.actp_policy_reservations r where r.status = 'reserved';
  end if;
  return coalesce(v, 0);
end
$$;

-- Called by the check, under the policy's row lock, when the day's row does not exist yet.
create or replace function public.actp_policy_open_day(policy_id uuid, scope text, day_start timestamptz, day_end timestamptz)
returns void
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
begin
  -- plpgsql, not sql, as every function the check calls: a SQL function is parsed and planned on
  -- every call. Open reservations move to the new row (only the newest row carries them).
  update public.actp_policy_budget_days d set reserved_usd = 0, updated_at = now()
   where d.policy_id = $1 and d.reserved_usd <> 0;
  insert into public.actp_policy_budget_days (policy_id, day_start, day_end, settled_usd, reserved_usd)
  values ($1, $3, $4, public.actp_policy_ledger_spend($2, $3, $4, null), public.actp_policy_open_reserved($2, null))
  on conflict do nothing;
end
$$;

create or replace function public.actp_policy_open_run(policy_id uuid, scope text, run_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
begin
  -- Every run's first check comes here: plpgsql, so the statement's plan is cached.
  insert into public.actp_policy_budget_runs (policy_id, run_id, settled_usd, reserved_usd)
  values ($1, $3, public.actp_policy_ledger_spend($2, null, null, $3), public.actp_policy_open_reserved($2, $3))
  on conflict do nothing;
end
$$;

-- A rate window whose capacity changed (or is new): keep the newest `capacity` calls, renumbered
-- oldest first from slot 0, so the next slot again holds the call `capacity` places back.
create or replace function public.actp_policy_rate_resize(policy_id uuid, window_seconds int, capacity int)
returns void
language plpgsql
set search_path = ''
as $$
declare
  p_id uuid := policy_id;
  p_win int := window_seconds;
  p_cap int := capacity;
begin
  insert into public.actp_rate_limit_windows as w (policy_id, window_seconds, capacity, next_seq)
  values (p_id, p_win, p_cap, 0)
  on conflict on constraint actp_rate_limit_windows_pkey do nothing;
  update public.actp_rate_limit_calls c set slot = -1 - c.slot where c.policy_id = p_id and c.window_seconds = p_win;
  delete from public.actp_rate_limit_calls c
   where c.policy_id = p_id and c.window_seconds = p_win
     and c.id not in (select c2.id from public.actp_rate_limit_calls c2 where c2.policy_id = p_id and c2.window_seconds = p_win
                      order by c2.called_at desc, c2.id desc limit p_cap);
  update public.actp_rate_limit_calls c set slot = o.n
    from (select c2.id, (row_number() over (order by c2.called_at, c2.id) - 1)::int as n
          from public.actp_rate_limit_calls c2 where c2.policy_id = p_id and c2.window_seconds = p_win) o
   where c.id = o.id;
  update public.actp_rate_limit_windows w
     set capacity = p_cap,
         next_seq = (select count(*) from public.actp_rate_limit_calls c where c.policy_id = p_id and c.window_seconds = p_win)
   where w.policy_id = p_id and w.window_seconds = p_win;
end
$$;

-- The decision ------------------------------------------------------------------------------------

create or replace function public.actp_policy_deny(reason text, message text, policy_id uuid default null,
                                                   retry_after int default null, details jsonb default null)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- plpgsql, not sql: a SQL function called from plpgsql is parsed and planned on every call.
  return jsonb_build_object('allowed', false, 'reason', reason, 'message', message,
                            'retry_after', retry_after, 'policy_id', policy_id)
         || case when details is null then '{}'::jsonb else jsonb_build_object('details', details) end;
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
        -- A tool-scoped allowlist says "this tool fetches URLs": a call without one is refused.
        if v_kind = 'tool' then
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

-- Counter maintenance shared by settle and expiry: a reservation leaves "reserved" (settled or
-- expired) and, when settled, its cost joins "settled" of every budget of its scope. The caller
-- holds FOR SHARE on those policies' rows, so no check rebuilds their counters meanwhile.
create or replace function public.actp_policy_counters_release(agent_slug text, tool_name text, run_id uuid,
                                                               released_usd numeric, settled_usd numeric, settled_at timestamptz)
returns void
language plpgsql
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
  -- plpgsql, not sql: a SQL function's statements are parsed and planned again in every
  -- transaction, and every settle runs this. One statement: each has a fixed cost of its own.
  with day_counters as (
    update public.actp_policy_budget_days d
       set reserved_usd = d.reserved_usd - $4,
           settled_usd = d.settled_usd + case when $6 >= d.day_start and $6 < d.day_end then $5 else 0 end,
           updated_at = now()
      from public.actp_policies p
     where p.id = d.policy_id and p.policy_type = 'budget'
       and p.scope in ('global', 'agent:' || $1, 'tool:' || $2)
       and (($4 <> 0 and d.day_start = (select max(d2.day_start) from public.actp_policy_budget_days d2 where d2.policy_id = p.id))
            or ($5 <> 0 and $6 >= d.day_start and $6 < d.day_end))
  )
  update public.actp_policy_budget_runs r
     set reserved_usd = r.reserved_usd - $4, settled_usd = r.settled_usd + $5, updated_at = now()
    from public.actp_policies p
   where $3 is not null and ($4 <> 0 or $5 <> 0)
     and p.id = r.policy_id and p.policy_type = 'budget'
     and p.scope in ('global', 'agent:' || $1, 'tool:' || $2) and r.run_id = $3;
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
  insert into public.actp_budget_ledger (agent_slug, tool_name, action_type, cost_usd, estimated_usd, run_id, reservation_id)
  values (r.agent_slug, r.tool_name, r.action_type, p_cost, r.amount_usd, r.run_id, p_id)
  returning id, created_at into v_ledger, v_at;
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
    'over_estimate', p_cost > r.amount_usd);
end
$$;

create or replace function public.actp_policy_decide_approval(approval_id uuid, decision text, decided_by text, note text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  p_id uuid := approval_id;
  v_row public.actp_policy_approvals;
  v_status text;
begin
  if decision is null or decision not in ('approve', 'deny') then
    raise exception using errcode = 'P0001', message = 'policy.invalid_decision: decision must be approve or deny';
  end if;
  if decided_by is null or length(decided_by) not between 1 and 200 then
    raise exception using errcode = 'P0001', message = 'policy.invalid_decision: decided_by must be 1..200 characters';
  end if;
  update public.actp_policy_approvals a
     set status = case decision when 'approve' then 'approved' else 'denied' end,
         decided_by = actp_policy_decide_approval.decided_by,
         decided_at = now(),
         note = actp_policy_decide_approval.note
   where a.id = p_id and a.status = 'pending'
  returning a.* into v_row;
  if not found then
    select a.status into v_status from public.actp_policy_approvals a where a.id = p_id;
    if not found then
      raise exception using errcode = 'P0001', message = format('policy.approval.not_found: no approval %s', p_id);
    end if;
    raise exception using errcode = 'P0001', message = format('policy.approval.conflict: approval %s is already %s', p_id, v_status);
  end if;
  return to_jsonb(v_row);
end
$$;

-- Housekeeping: mark lapsed reservations (releasing their counters), drop rate-limit calls no
-- window can see any more, and counters no check will read again (they rebuild if ever needed).
create or replace function public.actp_policy_expire_reservations()
returns int
language plpgsql
set search_path = ''
as $$
declare
  n int := 0;
  g record;
  v_runs uuid[];
  v_amounts numeric[];
begin
  -- One scope (agent, tool) at a time: its budgets are share-locked like a settle does.
  for g in
    select r.agent_slug, r.tool_name
    from public.actp_policy_reservations r
    where r.status = 'reserved' and r.expires_at <= now()
    group by r.agent_slug, r.tool_name
  loop
    perform 1 from public.actp_policies p
    where p.policy_type = 'budget' and p.scope in ('global', 'agent:' || g.agent_slug, 'tool:' || g.tool_name)
    order by p.id
    for share;
    with expired as (
      update public.actp_policy_reservations r set status = 'expired'
       where r.status = 'reserved' and r.expires_at <= now()
         and r.agent_slug = g.agent_slug and r.tool_name = g.tool_name
      returning r.run_id, r.amount_usd
    )
    select coalesce(array_agg(e.run_id), '{}'), coalesce(array_agg(e.amount_usd), '{}') into v_runs, v_amounts from expired e;
    perform public.actp_policy_counters_release(g.agent_slug, g.tool_name, u.run, sum(u.amount), 0, now())
    from unnest(v_runs, v_amounts) u(run, amount)
    group by u.run;
    n := n + cardinality(v_runs);
  end loop;
  delete from public.actp_rate_limit_calls where called_at < now() - interval '2 hours';
  delete from public.actp_policy_budget_days where day_end < now() - interval '2 days' and reserved_usd = 0;
  -- A check reads a run's counter under its policy's lock and writes it later: deleting the row in
  -- between would lose that write. So only under FOR SHARE of the policy, skipping policies a
  -- check holds (their idle runs go next time); a check arriving later rebuilds the row.
  with idle_policies as (
    select p.id from public.actp_policies p
    where p.id in (select r.policy_id from public.actp_policy_budget_runs r where r.created_at < now() - interval '1 day')
    order by p.id
    for share of p skip locked
  )
  delete from public.actp_policy_budget_runs r
   using idle_policies ip
   where r.policy_id = ip.id
     and r.created_at < now() - interval '1 day' and r.updated_at < now() - interval '1 day' and r.reserved_usd = 0;
  return n;
end
$$;

-- A policy whose scope, type, config or state changes gets its counters rebuilt from the truth
-- by the next check (a new zone is a new day window; a new scope, other spend).
create or replace function public.actp_policy_reset_counters()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if (old.scope, old.policy_type, old.config, old.enabled) is distinct from (new.scope, new.policy_type, new.config, new.enabled) then
    delete from public.actp_policy_budget_days d where d.policy_id = new.id;
    delete from public.actp_policy_budget_runs r where r.policy_id = new.id;
    -- A capacity change resizes the ring at the next check; an hour limit that goes away takes
    -- its ring with it, so one added later starts from calls it actually saw.
    if new.policy_type <> 'rate_limit' or not (new.config ? 'max_per_hour') or old.scope <> new.scope then
      delete from public.actp_rate_limit_windows w where w.policy_id = new.id and w.window_seconds = 3600;
      delete from public.actp_rate_limit_calls c where c.policy_id = new.id and c.window_seconds = 3600;
    end if;
  end if;
  return null;
end
$$;

create trigger tg_actp_policies__reset_counters
  after update on public.actp_policies
  for each row execute function public.actp_policy_reset_counters();

-- Counters that disagree with the truth (ledger sums, open reservations). Empty when all is well;
-- the db tests assert that after every scenario, so a maintenance bug cannot hide.
create or replace function public.actp_policy_counter_drift()
returns table (policy_id uuid, counter text, window_key text, counter_usd numeric, truth_usd numeric)
language sql
stable
set search_path = ''
as $$
  select x.policy_id, x.counter, x.window_key, x.counter_usd, x.truth_usd
  from (
    select d.policy_id, 'day.settled' as counter, to_json(d.day_start) #>> '{}' as window_key, d.settled_usd as counter_usd,
           public.actp_policy_ledger_spend(p.scope, d.day_start, d.day_end, null) as truth_usd
    from public.actp_policy_budget_days d join public.actp_policies p on p.id = d.policy_id
    union all
    select p.id, 'day.reserved', null, sum(d.reserved_usd), public.actp_policy_open_reserved(p.scope, null)
    from public.actp_policy_budget_days d join public.actp_policies p on p.id = d.policy_id
    group by p.id, p.scope
    union all
    select r.policy_id, 'run.settled', r.run_id::text, r.settled_usd, public.actp_policy_ledger_spend(p.scope, null, null, r.run_id)
    from public.actp_policy_budget_runs r join public.actp_policies p on p.id = r.policy_id
    union all
    select r.policy_id, 'run.reserved', r.run_id::text, r.reserved_usd, public.actp_policy_open_reserved(p.scope, r.run_id)
    from public.actp_policy_budget_runs r join public.actp_policies p on p.id = r.policy_id
  ) x
  where x.counter_usd <> x.truth_usd
  order by x.policy_id, x.counter, x.window_key;
$$;

insert into public.actp_schedules (name, cron_expr, command, description, critical)
values (
  'actp:policy:expire-reservations',
  '* * * * *',
  'select public.actp_policy_expire_reservations()',
  'Marks unsettled budget reservations past expires_at as expired (releasing their budget counters), prunes rate-limit calls older than two hours and budget counters no check reads any more.',
  true
)
on conflict (name) do nothing;

-- Row level security and privileges ---------------------------------------------------------------

-- The dashboard shows policies, spend and pending approvals; the working tables are service-only.
select public.actp_secure_table(t, case when t in ('actp_policies', 'actp_budget_ledger', 'actp_policy_approvals') then 'read' else 'none' end)
from unnest(array['actp_policies', 'actp_policy_reservations', 'actp_budget_ledger', 'actp_rate_limit_calls',
                  'actp_rate_limit_windows', 'actp_policy_approvals', 'actp_policy_budget_days',
                  'actp_policy_budget_runs']) as t;

revoke execute on function public.actp_policy_check(text, text, text, uuid, numeric, text, text) from public, anon, authenticated;
revoke execute on function public.actp_policy_settle(uuid, numeric) from public, anon, authenticated;
revoke execute on function public.actp_policy_decide_approval(uuid, text, text, text) from public, anon, authenticated;
revoke execute on function public.actp_policy_expire_reservations() from public, anon, authenticated;
grant execute on function public.actp_policy_check(text, text, text, uuid, numeric, text, text) to service_role;
grant execute on function public.actp_policy_settle(uuid, numeric) to service_role;
grant execute on function public.actp_policy_decide_approval(uuid, text, text, text) to service_role;
grant execute on function public.actp_policy_expire_reservations() to service_role;

-- Internal helpers: only the functions above (and the service role) call them.
do $$
declare
  f text;
begin
  foreach f in array array[
    'public.actp_policy_ledger_spend(text, timestamptz, timestamptz, uuid)',
    'public.actp_policy_open_reserved(text, uuid)',
    'public.actp_policy_open_day(uuid, text, timestamptz, timestamptz)',
    'public.actp_policy_open_run(uuid, text, uuid)',
    'public.actp_policy_rate_resize(uuid, int, int)',
    'public.actp_policy_counters_release(text, text, uuid, numeric, numeric, timestamptz)',
    'public.actp_policy_counter_drift()']
  loop
    execute format('revoke execute on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;
