-- Context assembler (PRD §4.17): per-agent layer priorities, and the index its episodic read uses.

-- { conversation?, semantic?, episodic?, procedural?, goals? } with weights in (0, 100]: the same rule
-- as the zod contract LayerPriorities, so a bad row cannot reach the packer.
create or replace function public.actp_context_priorities_valid(p jsonb)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select jsonb_typeof(p) = 'object'
     and not exists (
       select 1 from jsonb_each(p) e
        where e.key not in ('conversation', 'semantic', 'episodic', 'procedural', 'goals')
           or jsonb_typeof(e.value) <> 'number'
           or (e.value #>> '{}')::numeric <= 0
           or (e.value #>> '{}')::numeric > 100
     )
$$;
revoke all on function public.actp_context_priorities_valid(jsonb) from public, anon, authenticated;
grant execute on function public.actp_context_priorities_valid(jsonb) to service_role;

create table public.actp_context_profiles (
  agent_slug text primary key check (agent_slug ~ '^[a-z][a-z0-9_-]{0,62}$'),
  priorities jsonb not null default '{}'::jsonb check (public.actp_context_priorities_valid(priorities)),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.actp_context_profiles is 'PRD §4.17: per-agent priorities of the memory layers when the context budget is short.';
select public.actp_secure_table('actp_context_profiles', 'read');

-- An agent's recent events, newest first (the episodic layer of its context).
create index if not exists actp_events_agent_seq_idx on public.actp_events (agent_slug, seq desc) where agent_slug is not null;
