-- Model routing (PRD §4.3): which model serves which task type, in what order, under which
-- conditions, as data. actp_model_route() makes the decision in one statement; the worker's ctx.llm
-- (node/worker/guardrails/llm-call.ts) walks the candidates it returns, so a route change is an
-- UPDATE, not a deploy. Each model's health is its circuit breaker, the tool 'model:<model id>'.

-- Known condition keys, each a non-negative integer of tokens. Unknown keys are refused so a typo
-- ("max_context_lenght") cannot silently disable a rule.
create or replace function public.actp_model_conditions_valid(p_conditions jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select jsonb_typeof(p_conditions) = 'object'
     and not exists (
       select 1 from jsonb_each(p_conditions) e
       where e.key not in ('max_context_length', 'min_context_length')
          or jsonb_typeof(e.value) <> 'number'
          or (e.value)::numeric < 0
          or (e.value)::numeric <> trunc((e.value)::numeric)
          or (e.value)::numeric > 100000000
     )
     and coalesce((p_conditions ->> 'min_context_length')::numeric <= (p_conditions ->> 'max_context_length')::numeric, true);
$$;

create table public.actp_model_routes (
  id uuid primary key default gen_random_uuid(),
  task_type text not null check (task_type ~ '^[a-z][a-z0-9_]{0,62}$'),
  provider text not null default 'anthropic' check (provider in ('anthropic')),
  model text not null check (model ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  -- Lower is preferred; unique per task type so the chain has one order.
  priority int not null check (priority between 0 and 10000),
  -- The most one call on this route may cost: the route is skipped when the remaining budget cannot
  -- cover it, and a request whose worst case exceeds it goes to the next candidate.
  max_cost_usd numeric(12, 6) check (max_cost_usd is null or max_cost_usd > 0),
  conditions jsonb not null default '{}'::jsonb check (public.actp_model_conditions_valid(conditions)),
  -- Prices are data: a price change is an UPDATE. US dollars per million tokens.
  input_usd_per_mtok numeric(12, 6) not null check (input_usd_per_mtok >= 0),
  output_usd_per_mtok numeric(12, 6) not null check (output_usd_per_mtok >= 0),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (task_type, model),
  unique (task_type, priority)
);
comment on table public.actp_model_routes is
  'PRD §4.3: model selection rules per task type; candidates in priority order form the fallback chain.';

create trigger tg_actp_model_routes__touch
  before update on public.actp_model_routes
  for each row execute function public.actp_touch_updated_at();

-- The PRD's six task types on the current Anthropic lineup (model ids as listed by
-- @anthropic-ai/sdk 1.13's Model type and the models overview, November 2026): haiku = claude-haiku-4-5
-- ($1 / $5 per MTok, 200K context), sonnet = claude-sonnet-5 ($2 / $10, 1M), opus = claude-opus-5-5
-- ($4 / $20, 1M). Each task type falls back one tier (haiku falls forward to sonnet).
insert into public.actp_model_routes
  (task_type, model, priority, max_cost_usd, conditions, input_usd_per_mtok, output_usd_per_mtok)
values
  ('health_check',       'claude-haiku-4-5', 10, 0.05, '{"max_context_length": 200000}', 1, 5),
  ('health_check',       'claude-sonnet-5',  20, 0.10, '{}',                             2, 10),
  ('greeting',           'claude-haiku-4-5', 10, 0.05, '{"max_context_length": 200000}', 1, 5),
  ('greeting',           'claude-sonnet-5',  20, 0.10, '{}',                             2, 10),
  ('content_generation', 'claude-sonnet-5',  10, 1.00, '{}',                             2, 10),
  ('content_generation', 'claude-haiku-4-5', 20, 0.50, '{"max_context_length": 200000}', 1, 5),
  ('code_review',        'claude-sonnet-5',  10, 1.00, '{}',                             2, 10),
  ('code_review',        'claude-haiku-4-5', 20, 0.50, '{"max_context_length": 200000}', 1, 5),
  ('research_synthesis', 'claude-sonnet-5',  10, 2.00, '{}',                             2, 10),
  ('research_synthesis', 'claude-haiku-4-5', 20, 0.50, '{"max_context_length": 200000}', 1, 5),
  ('strategy_planning',  'claude-opus-5-5',  10, 5.00, '{}',                             4, 20),
  ('strategy_planning',  'claude-sonnet-5',  20, 2.00, '{}',                             2, 10)
on conflict (task_type, model) do nothing;

-- The decision only: the ordered candidates for a task type, and why each other route was skipped.
-- p_context_length: input tokens of the request (null: unknown, conditions on it pass);
-- p_budget_remaining: US dollars the caller may still spend (null: no limit known).
-- Returns { task_type, candidates: [{ id, provider, model, priority, max_cost_usd, conditions,
--   input_usd_per_mtok, output_usd_per_mtok, circuit: 'closed' | 'probe_due' }], skipped: [{ model, priority, reason }] }
create or replace function public.actp_model_route(
  p_task_type text,
  p_context_length int default null,
  p_budget_remaining numeric default null
)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  r record;
  v_reason text;
  v_circuit text;
  v_candidates jsonb := '[]'::jsonb;
  v_skipped jsonb := '[]'::jsonb;
  v_any boolean := false;
begin
  if p_task_type is null or p_task_type !~ '^[a-z][a-z0-9_]{0,62}$' then
    raise exception using errcode = 'P0001',
      message = 'model_router.invalid_task_type: task_type must match ^[a-z][a-z0-9_]{0,62}$';
  end if;
  if p_context_length is not null and p_context_length < 0 then
    raise exception using errcode = 'P0001', message = 'model_router.invalid_context_length: context_length must be >= 0';
  end if;
  if p_budget_remaining is not null and p_budget_remaining < 0 then
    raise exception using errcode = 'P0001', message = 'model_router.invalid_budget: budget_remaining must be >= 0';
  end if;

  for r in
    select m.*, s.state as circuit_state, s.reopens_at, s.probe_lease_expires_at
    from public.actp_model_routes m
    left join public.actp_circuit_states s on s.tool_name = 'model:' || m.model
    where m.task_type = p_task_type
    order by m.priority, m.model
  loop
    v_any := true;
    v_circuit := case
      when r.circuit_state is null or r.circuit_state = 'closed' then 'closed'
      when r.circuit_state = 'open' and r.reopens_at > now() then 'open'
      when r.circuit_state = 'half_open' and r.probe_lease_expires_at > now() then 'open'
      else 'probe_due'
    end;
    v_reason := case
      when not r.enabled then 'disabled'
      when p_context_length is not null and p_context_length > (r.conditions ->> 'max_context_length')::bigint then 'context_too_long'
      when p_context_length is not null and p_context_length < (r.conditions ->> 'min_context_length')::bigint then 'context_too_short'
      when p_budget_remaining is not null and p_budget_remaining <= 0 then 'budget_exhausted'
      when p_budget_remaining is not null and r.max_cost_usd > p_budget_remaining then 'over_budget'
      when v_circuit = 'open' then 'circuit_open'
    end;
    if v_reason is null then
      v_candidates := v_candidates || jsonb_build_array(jsonb_build_object(
        'id', r.id, 'provider', r.provider, 'model', r.model, 'priority', r.priority,
        'max_cost_usd', r.max_cost_usd, 'conditions', r.conditions,
        'input_usd_per_mtok', r.input_usd_per_mtok, 'output_usd_per_mtok', r.output_usd_per_mtok,
        'circuit', v_circuit));
    else
      v_skipped := v_skipped || jsonb_build_array(jsonb_build_object(
        'model', r.model, 'priority', r.priority, 'reason', v_reason));
    end if;
  end loop;

  if not v_any then
    raise exception using errcode = 'P0001',
      message = format('model_router.unknown_task_type: no routes for task type %s', quote_literal(p_task_type));
  end if;
  return jsonb_build_object('task_type', p_task_type, 'candidates', v_candidates, 'skipped', v_skipped);
end
$$;

select public.actp_secure_table('actp_model_routes', 'read');

revoke execute on function public.actp_model_route(text, int, numeric) from public, anon;
grant execute on function public.actp_model_route(text, int, numeric) to authenticated, service_role;
