-- PRD §4.15 Research security: what the research pipeline stores, how much a source is trusted, and
-- which domains research agents may read.
--
-- Decisions recorded here:
-- * Evidence is an audit record: append-only. A page is stored once per fetch, sanitized and
--   redacted (`text` is what the critic verifies claims against); a page whose findings pass the
--   severity threshold is stored with quarantined = true and is never handed out as evidence
--   (actp_research_evidence_usable is the view readers that feed models use).
-- * job_id has no foreign key: evidence outlives the retention of jobs, and a page fetched through
--   the research function directly belongs to no job.
-- * Authority (0..1) comes from actp_research_domain_authority, data an operator can tune: the most
--   specific matching pattern wins (exact host or domain-and-subdomains, then "*.suffix", then
--   "label.*"), and the '*' row is the default.
-- * RESEARCH_ALLOWED_DOMAINS (PRD §4.15) is an allowlist policy row scoped to the tool
--   research.fetch, so every agent that researches is held to it by the policy service's matcher.
--   "*.wikipedia.org" joins the PRD's "wikipedia.org": articles live on language subdomains.

create table public.actp_research_evidence (
  id uuid primary key default gen_random_uuid(),
  -- The URL asked for and the one the content came from (after redirects), canonical form.
  url text not null check (length(url) <= 8192 and url ~ '^https?://[!-~]+$'),
  final_url text not null check (length(final_url) <= 8192 and final_url ~ '^https?://[!-~]+$'),
  -- Registrable domain (public-suffix list) of final_url's host; the host itself for IP literals.
  domain text not null check (length(domain) between 1 and 255),
  title text not null default '' check (length(title) <= 2000),
  content_type text not null check (content_type in ('text/html', 'text/plain', 'application/json')),
  -- Sanitized, normalized text with matched spans redacted.
  text text not null check (length(text) <= 2000000),
  content_hash text not null check (content_hash ~ '^sha256:[0-9a-f]{64}$'),
  sanitized boolean not null default true check (sanitized),
  flagged boolean not null default false,
  quarantined boolean not null default false,
  -- [{ rule, severity, weight, span: { start, end }, excerpt, source }]
  findings jsonb not null default '[]'::jsonb check (jsonb_typeof(findings) = 'array'),
  -- Sum of finding weights: what the quarantine threshold compares against.
  risk_score numeric not null default 0 check (risk_score >= 0),
  authority numeric(4, 3) not null check (authority between 0 and 1),
  -- The model judge's verdict on a borderline page, when one ran.
  judge jsonb check (judge is null or jsonb_typeof(judge) = 'object'),
  -- Every hop of the fetch: [{ url, host, address, status }].
  hops jsonb not null default '[]'::jsonb check (jsonb_typeof(hops) = 'array'),
  bytes int not null default 0 check (bytes >= 0),
  fetched_at timestamptz not null default now(),
  job_id uuid,
  agent_slug text check (agent_slug is null or agent_slug ~ '^[a-z][a-z0-9_-]{0,62}$'),
  created_at timestamptz not null default now(),
  constraint actp_research_evidence_quarantine_flagged check (not quarantined or flagged)
);
comment on table public.actp_research_evidence is
  'PRD §4.15: sanitized pages fetched by agents; quarantined rows are kept for audit and never used as evidence.';
create index actp_research_evidence_job_idx on public.actp_research_evidence (job_id, fetched_at) where job_id is not null;
create index actp_research_evidence_hash_idx on public.actp_research_evidence (content_hash);
create index actp_research_evidence_domain_idx on public.actp_research_evidence (domain, fetched_at desc);

create trigger tg_actp_research_evidence__append_only
  before update or delete on public.actp_research_evidence
  for each row execute function public.actp_reject_mutation();

-- What may be cited: everything but quarantined pages.
create view public.actp_research_evidence_usable with (security_invoker = true) as
  select * from public.actp_research_evidence where not quarantined;

create table public.actp_research_domain_authority (
  pattern text primary key check (pattern = '*' or pattern ~ '^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$'
                                  or pattern ~ '^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.\*$'),
  authority numeric(4, 3) not null check (authority between 0 and 1),
  note text not null default '' check (length(note) <= 500),
  updated_at timestamptz not null default now()
);
comment on table public.actp_research_domain_authority is
  'PRD §4.15: how far a source is trusted (0..1): exact domain (and its subdomains), "*.suffix", "label.*", or the default "*".';

create trigger tg_actp_research_domain_authority__touch
  before update on public.actp_research_domain_authority
  for each row execute function public.actp_touch_updated_at();

insert into public.actp_research_domain_authority (pattern, authority, note) values
  ('*', 0.3, 'default for a source nobody rated'),
  ('*.gov', 0.9, 'government'),
  ('*.mil', 0.85, 'government'),
  ('*.int', 0.85, 'international organisations'),
  ('*.gov.uk', 0.9, 'government'),
  ('*.gouv.fr', 0.9, 'government'),
  ('*.europa.eu', 0.9, 'European Union'),
  ('*.edu', 0.85, 'universities'),
  ('*.ac.uk', 0.85, 'universities'),
  ('docs.*', 0.85, 'official documentation sites'),
  ('rfc-editor.org', 0.95, 'standards'),
  ('ietf.org', 0.9, 'standards'),
  ('w3.org', 0.9, 'standards'),
  ('whatwg.org', 0.9, 'standards'),
  ('unicode.org', 0.9, 'standards'),
  ('developer.mozilla.org', 0.9, 'reference documentation'),
  ('postgresql.org', 0.9, 'official documentation'),
  ('python.org', 0.85, 'official documentation'),
  ('nodejs.org', 0.85, 'official documentation'),
  ('deno.com', 0.85, 'official documentation'),
  ('supabase.com', 0.85, 'official documentation'),
  ('arxiv.org', 0.75, 'preprints: not peer reviewed'),
  ('wikipedia.org', 0.7, 'encyclopedia, cite with care'),
  ('github.com', 0.6, 'code and issues: primary for projects, anyone can write'),
  ('stackoverflow.com', 0.5, 'community answers'),
  ('medium.com', 0.35, 'blogs'),
  ('*.vercel.app', 0.4, 'hosted apps (ACTP services and anyone else''s)')
on conflict (pattern) do nothing;

-- The authority of a host: the most specific pattern that matches it.
create or replace function public.actp_research_authority(host text)
returns numeric
language sql
stable
set search_path = ''
as $$
  select a.authority
  from public.actp_research_domain_authority a
  where a.pattern = '*'
     or (a.pattern like '*.%' and right(lower(host), length(a.pattern) - 1) = substr(a.pattern, 2))
     or (a.pattern like '%.*' and split_part(lower(host), '.', 1) = left(a.pattern, length(a.pattern) - 2)
         and position('.' in host) > 0 and lower(host) !~ '^[0-9.]+$')
     or (a.pattern not like '*%' and a.pattern not like '%*'
         and (lower(host) = a.pattern or right(lower(host), length(a.pattern) + 1) = '.' || a.pattern))
  order by case when a.pattern = '*' then 3 when a.pattern like '*.%' then 1 when a.pattern like '%.*' then 2 else 0 end,
           length(a.pattern) desc
  limit 1;
$$;

select public.actp_secure_table('actp_research_evidence', 'read');
select public.actp_secure_table('actp_research_domain_authority', 'read');
grant select on public.actp_research_evidence_usable to service_role, authenticated;

revoke all on function public.actp_research_authority(text) from public, anon, authenticated;
grant execute on function public.actp_research_authority(text) to service_role;

-- PRD §4.15 RESEARCH_ALLOWED_DOMAINS, as data.
insert into public.actp_policies (scope, policy_type, config, description)
select 'tool:research.fetch', 'allowlist',
       '{"allowed_domains": ["github.com", "docs.*", "arxiv.org", "wikipedia.org", "*.wikipedia.org", "*.vercel.app"]}'::jsonb,
       'PRD §4.15 RESEARCH_ALLOWED_DOMAINS: what research agents (ctx.research.fetch, the research function) may read.'
where not exists (select 1 from public.actp_policies p where p.scope = 'tool:research.fetch' and p.policy_type = 'allowlist');
