-- Job runtime data model: agent registry (PRD §4.1), actp's own record of jobs and durable steps,
-- worker registrations (§4.13) and the dead-letter queue (§4.11). pg-boss owns the queue itself
-- (schema pgboss); these tables are what SLA, timelines, replay and review read.
-- Functions, triggers and policies beyond RLS come in later migrations of each component.

create table public.actp_agent_definitions (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z][a-z0-9_-]{0,62}$'),
  version int not null default 1 check (version >= 1),
  description text not null default '' check (length(description) <= 2000),
  -- [{ "tool": "web.fetch", "tier": "read" }, ...]: tool names and permission tiers
  capabilities jsonb not null default '[]'::jsonb check (jsonb_typeof(capabilities) = 'array'),
  memory_read text[] not null default '{}',
  memory_write text[] not null default '{}',
  -- { "default_model": ..., "fallback": ..., "max_cost_usd": ... }
  model_policy jsonb not null default '{}'::jsonb check (jsonb_typeof(model_policy) = 'object'),
  -- JSON Schema of the agent's input (from its zod schema), so HTTP submitters are validated
  -- without loading the agent's code.
  input_schema jsonb not null default '{}'::jsonb check (jsonb_typeof(input_schema) = 'object'),
  -- Hash of the registered definition: an unchanged registration writes nothing.
  definition_hash text not null,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger tg_actp_agent_definitions__touch
  before update on public.actp_agent_definitions
  for each row execute function public.actp_touch_updated_at();

create table public.actp_agent_versions (
  id uuid primary key default gen_random_uuid(),
  agent_id uuid not null references public.actp_agent_definitions (id) on delete restrict,
  version int not null check (version >= 1),
  changelog text not null check (length(changelog) between 1 and 5000),
  snapshot jsonb not null check (jsonb_typeof(snapshot) = 'object'),
  deployed_at timestamptz not null default now(),
  unique (agent_id, version)
);

create trigger tg_actp_agent_versions__append_only
  before update or delete on public.actp_agent_versions
  for each row execute function public.actp_reject_mutation();

create table public.actp_jobs (
  -- The pg-boss job id: one identity across the queue and actp's record.
  id uuid primary key,
  agent_slug text not null references public.actp_agent_definitions (slug) on update cascade,
  agent_version int,
  job_type text not null check (length(job_type) between 1 and 200),
  input jsonb not null,
  status text not null default 'queued'
    check (status in ('queued', 'running', 'retrying', 'completed', 'failed', 'cancelled', 'dead')),
  attempts int not null default 0 check (attempts >= 0),
  max_attempts int check (max_attempts is null or max_attempts >= 1),
  worker_id text,
  progress jsonb,
  output jsonb,
  error jsonb,
  replay_of uuid references public.actp_jobs (id),
  replay_from_step text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  check (finished_at is null or started_at is null or finished_at >= started_at)
);
create index actp_jobs_status_idx on public.actp_jobs (status, created_at);
create index actp_jobs_agent_idx on public.actp_jobs (agent_slug, created_at);
create index actp_jobs_replay_of_idx on public.actp_jobs (replay_of) where replay_of is not null;

create trigger tg_actp_jobs__touch
  before update on public.actp_jobs
  for each row execute function public.actp_touch_updated_at();

-- Durable step checkpoints. Step names are chosen by the agent author and unique within a job,
-- so a retry, a crash recovery or a replay finds a step by name, never by position.
create table public.actp_job_steps (
  id bigint generated always as identity primary key,
  job_id uuid not null references public.actp_jobs (id) on delete cascade,
  ordinal int not null check (ordinal >= 0),
  name text not null check (length(name) between 1 and 200),
  input_hash text,
  status text not null default 'running' check (status in ('running', 'completed', 'failed')),
  output jsonb,
  error jsonb,
  attempt int not null default 1 check (attempt >= 1),
  -- Set when a replay copied this step's output from an earlier job instead of running it.
  reused_from_job uuid references public.actp_jobs (id),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  unique (job_id, name),
  unique (job_id, ordinal)
);

create table public.actp_worker_registrations (
  worker_id text primary key check (length(worker_id) between 1 and 200),
  host text not null,
  pid int not null,
  agents text[] not null default '{}',
  started_at timestamptz not null default now(),
  last_heartbeat_at timestamptz not null default now(),
  rss_bytes bigint check (rss_bytes is null or rss_bytes >= 0),
  status text not null default 'alive' check (status in ('alive', 'draining', 'dead', 'recycled')),
  stopped_at timestamptz
);
create index actp_worker_registrations_status_idx on public.actp_worker_registrations (status, last_heartbeat_at);

create table public.actp_dlq (
  id uuid primary key default gen_random_uuid(),
  original_job_id uuid not null unique references public.actp_jobs (id),
  job_type text not null,
  input_data jsonb not null,
  failure_reason text not null,
  retry_count int not null check (retry_count >= 0),
  enqueued_at timestamptz not null default now(),
  reviewed_by text,
  reviewed_at timestamptz,
  resolution text check (resolution in ('replayed', 'discarded', 'manual_fix')),
  replay_job_id uuid references public.actp_jobs (id),
  check ((resolution is null) = (reviewed_at is null)),
  check (resolution is null or reviewed_by is not null)
);
create index actp_dlq_pending_idx on public.actp_dlq (enqueued_at) where resolution is null;

-- The dashboard reads all of these; only the service role writes.
select public.actp_secure_table(t, 'read')
from unnest(array['actp_agent_definitions', 'actp_agent_versions', 'actp_jobs', 'actp_job_steps',
                  'actp_worker_registrations', 'actp_dlq']) as t;
