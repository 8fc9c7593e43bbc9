-- Canonical memory facts (issue 11 item 1: the semantic and procedural layers) and the memory
-- proposal gate (PRD §4.8).
--
-- Decisions recorded here:
-- * Layers are named in tables and APIs ('semantic', 'procedural'); the number, where one is kept
--   (actp_memory_proposals.target_layer, the PRD's INT column), follows PRD §3: L3 semantic,
--   L4 procedural. §4.8's comment "1=semantic" is not used. APIs accept the name or the number.
-- * Facts are bitemporal: valid_from/valid_to say when the fact holds in the world, recorded_at/
--   superseded_at when actp believed it. A fact is never updated in place or deleted: a new fact for
--   the same (layer, subject, key) supersedes the current one (superseded_at, superseded_by), and a
--   partial unique index keeps at most one current fact per key. "What did we believe at X" is
--   actp_memory_facts_as_of(X).
-- * Writers of one key are serialised by a transaction-level advisory lock on the key, and times
--   are clock_timestamp() taken after the lock, so a chain's times are in commit order even when
--   the transactions started in the other order.
-- * The gate decides in SQL, in the transaction that sets the score: a trigger runs the rule
--   (actp_memory_gate_rule, versioned) and records the decision with its inputs and reason codes;
--   an approval writes the fact in that same transaction. A service-role UPDATE of score decides the
--   same way as the critic worker does.
-- * The rule: score >= 7.0 and at least one cited, non-quarantined evidence source with authority
--   >= 0.7 approves. Anything that is not a real number (null, NaN, a string) never passes. A cited
--   quarantined source or a score under 5 rejects; otherwise the proposal is deferred to a person.

-- Layers ----------------------------------------------------------------------------------------

create or replace function public.actp_memory_layer_number(p_layer text)
returns int
language sql
immutable
set search_path = ''
as $$ select case p_layer when 'semantic' then 3 when 'procedural' then 4 end $$;

create or replace function public.actp_memory_layer_name(p_number int)
returns text
language sql
immutable
set search_path = ''
as $$ select case p_number when 3 then 'semantic' when 4 then 'procedural' end $$;

-- Proposals -------------------------------------------------------------------------------------

create table public.actp_memory_proposals (
  id uuid primary key default gen_random_uuid(),
  source_agent text check (source_agent is null or source_agent ~ '^[a-z][a-z0-9_-]{0,62}$'),
  source_run_id uuid,
  -- PRD §3 numbering: 3 = semantic (L3), 4 = procedural (L4).
  target_layer int not null check (target_layer in (3, 4)),
  target_subject text not null check (length(btrim(target_subject)) between 1 and 200),
  target_key text not null check (length(btrim(target_key)) between 1 and 500),
  proposed_value jsonb not null,
  -- The human-readable statement: what the critic checks and, once approved, what retrieval indexes.
  content text not null check (length(btrim(content)) between 1 and 20000),
  evidence_refs text[] not null check (
    cardinality(evidence_refs) between 1 and 50 and array_position(evidence_refs, null) is null
  ),
  valid_from timestamptz,
  valid_to timestamptz,
  -- NaN is larger than every number in PostgreSQL, so the upper bound refuses it too.
  score float8 check (score is null or (score >= 0 and score <= 10)),
  critic jsonb check (critic is null or jsonb_typeof(critic) = 'object'),
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected', 'deferred')),
  reason text check (reason is null or length(reason) <= 1000),
  -- 'auto' for the gate, else the caller's identity from its token (actp_caller_actor()).
  reviewer text,
  -- A label the reviewer gave in the request body, kept beside the identity, never instead of it.
  reviewer_label text check (reviewer_label is null or length(reviewer_label) <= 200),
  reviewed_at timestamptz,
  scored_at timestamptz,
  idempotency_key text not null unique check (length(idempotency_key) between 1 and 200),
  created_at timestamptz not null default now(),
  constraint actp_memory_proposals_valid_range check (valid_to is null or valid_from is null or valid_to > valid_from),
  constraint actp_memory_proposals_decided check ((status = 'pending') = (reviewed_at is null))
);
comment on table public.actp_memory_proposals is
  'PRD §4.8: claims waiting for (or decided by) the memory proposal gate. target_layer: 3 semantic, 4 procedural (PRD §3).';
create index actp_memory_proposals_status_idx on public.actp_memory_proposals (status, created_at);
create index actp_memory_proposals_key_idx on public.actp_memory_proposals (target_layer, target_subject, target_key);

-- Facts -----------------------------------------------------------------------------------------

create table public.actp_memory_facts (
  id uuid primary key default gen_random_uuid(),
  layer text not null check (layer in ('semantic', 'procedural')),
  subject text not null check (length(btrim(subject)) between 1 and 200),
  key text not null check (length(btrim(key)) between 1 and 500),
  value jsonb not null,
  content text not null check (length(btrim(content)) between 1 and 20000),
  proposal_id uuid references public.actp_memory_proposals (id),
  evidence_refs text[] not null default '{}' check (array_position(evidence_refs, null) is null),
  agent_slug text check (agent_slug is null or agent_slug ~ '^[a-z][a-z0-9_-]{0,62}$'),
  job_id uuid,
  valid_from timestamptz not null default now(),
  valid_to timestamptz,
  recorded_at timestamptz not null default clock_timestamp(),
  superseded_at timestamptz,
  superseded_by uuid references public.actp_memory_facts (id) deferrable initially deferred,
  constraint actp_memory_facts_valid_range check (valid_to is null or valid_to > valid_from),
  constraint actp_memory_facts_superseded check (
    (superseded_at is null) = (superseded_by is null) and (superseded_at is null or superseded_at >= recorded_at)
  ),
  constraint actp_memory_facts_not_self check (superseded_by is distinct from id)
);
comment on table public.actp_memory_facts is
  'Canonical semantic (L3) and procedural (L4) memory: bitemporal, append-only, at most one current fact per (layer, subject, key).';
create unique index actp_memory_facts_current_key on public.actp_memory_facts (layer, subject, key) where superseded_at is null;
create index actp_memory_facts_history_idx on public.actp_memory_facts (layer, subject, key, recorded_at);
create index actp_memory_facts_proposal_idx on public.actp_memory_facts (proposal_id) where proposal_id is not null;

-- Only the supersession link may be set, once; nothing else of a fact ever changes.
create or replace function public.actp_memory_facts_guard()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if old.superseded_at is not null
     or new.superseded_at is null
     or (to_jsonb(new) - 'superseded_at' - 'superseded_by') is distinct from (to_jsonb(old) - 'superseded_at' - 'superseded_by') then
    raise exception using errcode = 'P0001',
      message = 'memory.fact_immutable: a fact is never changed; write a new fact for its key (actp_memory_facts_write) to supersede it';
  end if;
  return new;
end
$$;
create trigger tg_actp_memory_facts__guard
  before update on public.actp_memory_facts
  for each row execute function public.actp_memory_facts_guard();
create trigger tg_actp_memory_facts__no_delete
  before delete on public.actp_memory_facts
  for each row execute function public.actp_reject_mutation();

-- Every write of a fact is a memory.write event, however it was written.
create or replace function public.actp_memory_facts_emit_write()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform public.actp_emit('memory.write',
    jsonb_strip_nulls(jsonb_build_object(
      'layer', new.layer, 'namespace', new.subject, 'key', new.key, 'proposal_id', new.proposal_id, 'fact_id', new.id,
      'supersedes', (select f.id from public.actp_memory_facts f where f.superseded_by = new.id),
      'content_hash', 'sha256:' || encode(sha256(convert_to(new.content, 'UTF8')), 'hex'))),
    new.job_id, null, new.agent_slug, null);
  return null;
end
$$;
create trigger tg_actp_memory_facts__emit_write
  after insert on public.actp_memory_facts
  for each row execute function public.actp_memory_facts_emit_write();

-- Writes a fact: supersedes the current fact of the same (layer, subject, key), never another key.
-- p_fact: { layer, subject, key, value, content, evidence_refs?, agent_slug?, job_id?, valid_from?,
-- valid_to?, proposal_id? }. Returns the new fact's id.
create or replace function public.actp_memory_facts_write(p_fact jsonb)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_layer text := p_fact ->> 'layer';
  v_subject text := p_fact ->> 'subject';
  v_key text := p_fact ->> 'key';
  v_id uuid := gen_random_uuid();
  v_now timestamptz;
begin
  if v_layer is null or public.actp_memory_layer_number(v_layer) is null then
    raise exception using errcode = 'P0001', message = format('memory.invalid_layer: %L is not a fact layer (semantic, procedural)', v_layer);
  end if;
  if v_subject is null or v_key is null or p_fact -> 'value' is null or p_fact ->> 'content' is null then
    raise exception using errcode = 'P0001', message = 'memory.invalid_fact: a fact needs subject, key, value and content';
  end if;
  -- One writer per key at a time: the later one sees and supersedes the earlier one's fact.
  perform pg_advisory_xact_lock(hashtextextended('actp.memory.fact:' || v_layer || ':' || v_subject || ':' || v_key, 0));
  v_now := clock_timestamp();
  update public.actp_memory_facts f
     set superseded_at = v_now, superseded_by = v_id
   where f.layer = v_layer and f.subject = v_subject and f.key = v_key and f.superseded_at is null;
  insert into public.actp_memory_facts (id, layer, subject, key, value, content, proposal_id, evidence_refs, agent_slug, job_id,
                                        valid_from, valid_to, recorded_at)
  values (v_id, v_layer, v_subject, v_key, p_fact -> 'value', p_fact ->> 'content', (p_fact ->> 'proposal_id')::uuid,
          coalesce(array(select jsonb_array_elements_text(p_fact -> 'evidence_refs')), '{}'),
          p_fact ->> 'agent_slug', (p_fact ->> 'job_id')::uuid,
          coalesce((p_fact ->> 'valid_from')::timestamptz, v_now), (p_fact ->> 'valid_to')::timestamptz, v_now);
  return v_id;
end
$$;

-- What actp believed at p_recorded_at (transaction time), optionally only facts that held in the
-- world at p_valid_at (valid time).
create or replace function public.actp_memory_facts_as_of(p_recorded_at timestamptz, p_valid_at timestamptz default null)
returns setof public.actp_memory_facts
language sql
stable
set search_path = ''
as $$
  select f.* from public.actp_memory_facts f
   where f.recorded_at <= p_recorded_at
     and (f.superseded_at is null or f.superseded_at > p_recorded_at)
     and (p_valid_at is null or (f.valid_from <= p_valid_at and (f.valid_to is null or f.valid_to > p_valid_at)))
$$;

-- Decision log ----------------------------------------------------------------------------------

create table public.actp_memory_proposal_decisions (
  id bigint generated always as identity primary key,
  proposal_id uuid not null references public.actp_memory_proposals (id),
  outcome text not null check (outcome in ('approved', 'rejected', 'deferred')),
  -- 'gate-v1' for the automatic rule, 'manual' for a person's decision.
  rule_version text not null,
  inputs jsonb not null check (jsonb_typeof(inputs) = 'object'),
  reason_codes text[] not null check (cardinality(reason_codes) >= 1),
  decided_by text not null,
  label text,
  fact_id uuid references public.actp_memory_facts (id),
  decided_at timestamptz not null default now()
);
comment on table public.actp_memory_proposal_decisions is
  'PRD §4.8: every gate decision with its rule version, inputs and reason codes, written in the transaction that decided.';
create index actp_memory_proposal_decisions_proposal_idx on public.actp_memory_proposal_decisions (proposal_id, id);
create trigger tg_actp_memory_proposal_decisions__append_only
  before update or delete on public.actp_memory_proposal_decisions
  for each row execute function public.actp_reject_mutation();

-- The rule ----------------------------------------------------------------------------------------

create or replace function public.actp_memory_gate_rule_version()
returns text
language sql
immutable
set search_path = ''
as $$ select 'gate-v1' $$;

-- p_inputs: { score, authorities: [number...], quarantined: int }. Returns { outcome, reasons }.
-- A value that is not a JSON number (null, a string, "NaN") never passes a threshold.
create or replace function public.actp_memory_gate_rule(p_inputs jsonb)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_score_ok boolean := jsonb_typeof(p_inputs -> 'score') = 'number';
  v_score numeric := case when v_score_ok then (p_inputs ->> 'score')::numeric end;
  v_authoritative boolean;
  v_reasons text[] := '{}';
begin
  select coalesce(bool_or(jsonb_typeof(a) = 'number' and (a #>> '{}')::numeric between 0.7 and 1), false)
    into v_authoritative
    from jsonb_array_elements(case when jsonb_typeof(p_inputs -> 'authorities') = 'array' then p_inputs -> 'authorities' else '[]'::jsonb end) a;
  if coalesce((p_inputs ->> 'quarantined')::int, 0) > 0 then
    v_reasons := array_append(v_reasons, 'quarantined_evidence');
  end if;
  if not v_score_ok or v_score < 5 or v_score > 10 then
    v_reasons := array_append(v_reasons, 'score_too_low');
  elsif v_score < 7.0 then
    v_reasons := array_append(v_reasons, 'score_below_threshold');
  end if;
  if not v_authoritative then
    v_reasons := array_append(v_reasons, 'no_authoritative_source');
  end if;
  return jsonb_build_object(
    'outcome', case when cardinality(v_reasons) = 0 then 'approved'
                    when 'quarantined_evidence' = any (v_reasons) or 'score_too_low' = any (v_reasons) then 'rejected'
                    else 'deferred' end,
    'reasons', to_jsonb(case when cardinality(v_reasons) = 0 then array['passed'] else v_reasons end));
end
$$;

-- What the rule reads about a proposal's evidence: authorities of cited, non-quarantined stored
-- evidence; how many cited sources are quarantined; refs that are not stored evidence.
create or replace function public.actp_memory_gate_evidence(p_refs text[])
returns jsonb
language sql
stable
set search_path = ''
as $$
  with refs as (
    select r, case when r ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then r::uuid end as id
      from unnest(p_refs) r
  )
  select jsonb_build_object(
    'authorities', coalesce(jsonb_agg(to_jsonb(e.authority) order by e.authority desc) filter (where e.id is not null and not e.quarantined), '[]'::jsonb),
    'quarantined', count(*) filter (where e.quarantined),
    'unresolved', coalesce(jsonb_agg(refs.r) filter (where e.id is null), '[]'::jsonb))
  from refs left join public.actp_research_evidence e on e.id = refs.id
$$;

-- Transitions -------------------------------------------------------------------------------------

-- BEFORE UPDATE: what may change, and the decision itself. Setting the score of a pending
-- proposal runs the rule; a person may decide a deferred proposal (status to approved/rejected).
create or replace function public.actp_memory_proposals_gate()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_rule jsonb;
begin
  if (to_jsonb(new) - array['score', 'critic', 'status', 'reason', 'reviewer', 'reviewer_label', 'reviewed_at', 'scored_at'])
     is distinct from (to_jsonb(old) - array['score', 'critic', 'status', 'reason', 'reviewer', 'reviewer_label', 'reviewed_at', 'scored_at']) then
    raise exception using errcode = 'P0001', message = 'memory.proposal_immutable: only the score and the review of a proposal change; submit a new proposal';
  end if;
  if new.score is distinct from old.score then
    if old.score is not null or old.status <> 'pending' then
      raise exception using errcode = 'P0001', message = format('memory.proposal_state_conflict: proposal %s is already scored (%s)', old.id, old.status);
    end if;
    if new.score is null then
      raise exception using errcode = 'P0001', message = 'memory.invalid_score: a score is a number from 0 to 10';
    end if;
    v_rule := public.actp_memory_gate_rule(
      jsonb_build_object('score', to_jsonb(new.score)) || public.actp_memory_gate_evidence(new.evidence_refs));
    new.status := v_rule ->> 'outcome';
    new.reason := array_to_string(array(select jsonb_array_elements_text(v_rule -> 'reasons')), ',');
    new.reviewer := 'auto';
    new.reviewer_label := null;
    new.reviewed_at := now();
    new.scored_at := now();
    return new;
  end if;
  if new.status is distinct from old.status then
    if old.status <> 'deferred' or new.status not in ('approved', 'rejected') then
      raise exception using errcode = 'P0001',
        message = format('memory.proposal_state_conflict: proposal %s is %s; a person decides only a deferred proposal (to approved or rejected)', old.id, old.status);
    end if;
    -- The identity comes from the caller's token, whatever the statement says.
    new.reviewer := public.actp_caller_actor();
    new.reviewed_at := now();
    new.reason := coalesce(nullif(btrim(new.reason), ''), case new.status when 'approved' then 'approved_by_reviewer' else 'rejected_by_reviewer' end);
    if new.reason is not distinct from old.reason then
      new.reason := case new.status when 'approved' then 'approved_by_reviewer' else 'rejected_by_reviewer' end;
    end if;
    return new;
  end if;
  if (new.reviewer, new.reviewer_label, new.reviewed_at, new.reason, new.critic, new.scored_at)
     is distinct from (old.reviewer, old.reviewer_label, old.reviewed_at, old.reason, old.critic, old.scored_at) then
    raise exception using errcode = 'P0001', message = 'memory.proposal_immutable: a review is recorded with the decision that makes it';
  end if;
  return new;
end
$$;
create trigger tg_actp_memory_proposals__gate
  before update on public.actp_memory_proposals
  for each row execute function public.actp_memory_proposals_gate();
create trigger tg_actp_memory_proposals__no_delete
  before delete on public.actp_memory_proposals
  for each row execute function public.actp_reject_mutation();

-- AFTER UPDATE of the status: the decision log, the fact for an approval, and the events, all in
-- the transaction that decided.
create or replace function public.actp_memory_proposals_decided()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_fact uuid;
  v_manual boolean := new.reviewer is distinct from 'auto';
  v_inputs jsonb;
begin
  if new.status is not distinct from old.status then
    return null;
  end if;
  v_inputs := jsonb_build_object('score', to_jsonb(new.score), 'thresholds', jsonb_build_object('score', 7.0, 'authority', 0.7, 'reject_below', 5))
              || public.actp_memory_gate_evidence(new.evidence_refs)
              || jsonb_strip_nulls(jsonb_build_object('critic_verdict', new.critic -> 'verdict', 'previous_status', old.status));
  if new.status = 'approved' then
    v_fact := public.actp_memory_facts_write(jsonb_strip_nulls(jsonb_build_object(
      'layer', public.actp_memory_layer_name(new.target_layer), 'subject', new.target_subject, 'key', new.target_key,
      'value', new.proposed_value, 'content', new.content, 'proposal_id', new.id, 'evidence_refs', to_jsonb(new.evidence_refs),
      'agent_slug', new.source_agent, 'job_id', new.source_run_id, 'valid_from', new.valid_from, 'valid_to', new.valid_to)));
  end if;
  insert into public.actp_memory_proposal_decisions (proposal_id, outcome, rule_version, inputs, reason_codes, decided_by, label, fact_id)
  values (new.id, new.status, case when v_manual then 'manual' else public.actp_memory_gate_rule_version() end,
          v_inputs || case when v_manual then jsonb_build_object('note', new.reason) else '{}'::jsonb end,
          case when v_manual then array[new.status || '_by_reviewer'] else string_to_array(new.reason, ',') end,
          new.reviewer, new.reviewer_label, v_fact);
  if new.status = 'approved' then
    perform public.actp_emit('research.proposal_approved',
      jsonb_strip_nulls(jsonb_build_object('proposal_id', new.id, 'score', new.score, 'reviewer', new.reviewer, 'fact_id', v_fact,
                                           'reviewer_label', new.reviewer_label)),
      new.source_run_id, null, new.source_agent, null);
  else
    perform public.actp_emit('research.proposal_rejected',
      jsonb_strip_nulls(jsonb_build_object('proposal_id', new.id, 'reason', new.reason, 'outcome', new.status, 'score', new.score,
                                           'reviewer', new.reviewer, 'reviewer_label', new.reviewer_label)),
      new.source_run_id, null, new.source_agent, null);
  end if;
  return null;
end
$$;
create trigger tg_actp_memory_proposals__decided
  after update on public.actp_memory_proposals
  for each row execute function public.actp_memory_proposals_decided();

-- The critic's queue --------------------------------------------------------------------------

create or replace function public.actp_memory_critic_queue()
returns text
language sql
immutable
set search_path = ''
as $$ select 'actp.memory.critic' $$;

-- Enqueues the critic job of a proposal (pg-boss, policy stately: at most one waiting and one
-- running job per proposal). Without pg-boss installed yet it does nothing: the sweep schedule
-- enqueues pending proposals once it is.
create or replace function public.actp_memory_critic_enqueue(p_proposal uuid)
returns boolean
language plpgsql
security definer  -- pg-boss's schema is not the service role's; this inserts one job of one queue
set search_path = ''
as $$
declare
  v_queue text := public.actp_memory_critic_queue();
  v_table text;
  v_notify boolean;
  v_id uuid;
begin
  if to_regclass('pgboss.queue') is null or to_regprocedure('pgboss.create_queue(text, jsonb)') is null then
    return false;
  end if;
  select q.table_name, q.notify into v_table, v_notify from pgboss.queue q where q.name = v_queue;
  if v_table is null then
    perform pg_advisory_xact_lock(
      ('x' || encode(sha224((current_database() || '.pgboss.pgboss' || 'create-queue')::bytea), 'hex'))::bit(64)::bigint);
    if not exists (select 1 from pgboss.queue where name = v_queue) then
      perform pgboss.create_queue(v_queue, jsonb_build_object('policy', 'stately', 'retryLimit', 5, 'retryDelay', 5,
        'retryBackoff', true, 'retryDelayMax', 600, 'expireInSeconds', 600, 'retentionSeconds', 86400));
    end if;
    select q.table_name, q.notify into v_table, v_notify from pgboss.queue q where q.name = v_queue;
  end if;
  execute format($sql$
    insert into pgboss.%I (
      id, name, data, priority, start_after, created_on, singleton_key, expire_seconds, deletion_seconds,
      keep_until, retry_limit, retry_delay, retry_backoff, retry_delay_max, policy, dead_letter,
      heartbeat_seconds, blocked, blocking, pending_dependencies
    )
    select gen_random_uuid(), q.name, $1, 0, pgboss.job_now(), pgboss.job_now(), $2, q.expire_seconds, q.deletion_seconds,
           pgboss.job_now() + q.retention_seconds * interval '1s', q.retry_limit, q.retry_delay, q.retry_backoff,
           q.retry_delay_max, q.policy, q.dead_letter, q.heartbeat_seconds, false, false, 0
      from pgboss.queue q where q.name = $3
    on conflict do nothing
    returning id
  $sql$, v_table)
  into v_id
  using jsonb_build_object('proposal_id', p_proposal), p_proposal::text, v_queue;
  if v_id is not null and v_notify then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;
  return v_id is not null;
end
$$;

-- Every pending, unscored proposal older than a minute gets its critic job (again): wake-ups lost
-- with a rolled-back transaction, proposals made before pg-boss was installed, dead jobs.
create or replace function public.actp_memory_critic_sweep()
returns int
language plpgsql
set search_path = ''
as $$
declare
  p record;
  n int := 0;
begin
  for p in select id from public.actp_memory_proposals
            where status = 'pending' and score is null and created_at < now() - interval '1 minute'
            order by created_at limit 500 loop
    if public.actp_memory_critic_enqueue(p.id) then
      n := n + 1;
    end if;
  end loop;
  return n;
end
$$;

insert into public.actp_schedules (name, cron_expr, command, description, critical) values
  ('actp:memory:critic-sweep', '* * * * *', 'select public.actp_memory_critic_sweep()',
   'Memory proposal gate (PRD §4.8): re-enqueues the critic job of pending proposals nobody scored.', false)
on conflict (name) do nothing;

-- Submit --------------------------------------------------------------------------------------------

-- The one way a proposal is made (memory function, ctx.propose). p: { layer ('semantic' |
-- 'procedural' | 3 | 4), subject, key, value, content, evidence_refs, source_agent?, source_run_id?,
-- valid_from?, valid_to?, idempotency_key? }. The same proposal twice is one proposal: the key is
-- the caller's idempotency_key or the hash of what is proposed. Returns { proposal, created }.
create or replace function public.actp_memory_propose(p jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_layer int;
  v_refs text[];
  v_missing text[];
  v_key text;
  v_row public.actp_memory_proposals;
  v_created boolean := false;
begin
  if jsonb_typeof(p) is distinct from 'object' then
    raise exception using errcode = 'P0001', message = 'memory.invalid_proposal: a proposal is a JSON object';
  end if;
  v_layer := case
    when jsonb_typeof(p -> 'layer') = 'string' then public.actp_memory_layer_number(p ->> 'layer')
    when jsonb_typeof(p -> 'layer') = 'number' and (p ->> 'layer') in ('3', '4') then (p ->> 'layer')::int
  end;
  if v_layer is null then
    raise exception using errcode = 'P0001',
      message = format('memory.invalid_layer: layer %s is not semantic (3) or procedural (4)', coalesce(p ->> 'layer', 'null'));
  end if;
  if jsonb_typeof(p -> 'evidence_refs') is distinct from 'array' or jsonb_array_length(p -> 'evidence_refs') = 0
     or exists (select 1 from jsonb_array_elements(p -> 'evidence_refs') r where jsonb_typeof(r) <> 'string' or length(btrim(r #>> '{}')) = 0) then
    raise exception using errcode = 'P0001', message = 'memory.invalid_proposal: evidence_refs must be a non-empty list of evidence ids';
  end if;
  v_refs := array(select distinct r from jsonb_array_elements_text(p -> 'evidence_refs') r order by r);
  -- A ref shaped like a stored evidence id must be one (other refs, e.g. tool outputs, are kept as given).
  select array_agg(r order by r) into v_missing
    from unnest(v_refs) r
   where r ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
     and not exists (select 1 from public.actp_research_evidence e where e.id = r::uuid);
  if v_missing is not null then
    raise exception using errcode = 'P0001', message = format('memory.unknown_evidence: no stored evidence with id %s', array_to_string(v_missing, ', '));
  end if;
  if p -> 'value' is null then
    raise exception using errcode = 'P0001', message = 'memory.invalid_proposal: value is required (any JSON)';
  end if;

  v_key := coalesce(nullif(p ->> 'idempotency_key', ''),
    'sha256:' || encode(sha256(convert_to(jsonb_build_object(
      'layer', v_layer, 'subject', p ->> 'subject', 'key', p ->> 'key', 'value', p -> 'value', 'content', p ->> 'content',
      'refs', to_jsonb(v_refs), 'agent', p ->> 'source_agent', 'valid_from', p ->> 'valid_from', 'valid_to', p ->> 'valid_to')::text, 'UTF8')), 'hex'));

  insert into public.actp_memory_proposals (source_agent, source_run_id, target_layer, target_subject, target_key, proposed_value,
                                            content, evidence_refs, valid_from, valid_to, idempotency_key)
  values (p ->> 'source_agent', (p ->> 'source_run_id')::uuid, v_layer, p ->> 'subject', p ->> 'key', p -> 'value',
          p ->> 'content', v_refs, (p ->> 'valid_from')::timestamptz, (p ->> 'valid_to')::timestamptz, v_key)
  on conflict (idempotency_key) do nothing
  returning * into v_row;

  if v_row.id is not null then
    v_created := true;
    perform public.actp_emit('research.proposal_created',
      jsonb_build_object('proposal_id', v_row.id, 'target_layer', v_row.target_layer, 'target_key', v_row.target_key,
                         'layer', public.actp_memory_layer_name(v_row.target_layer), 'subject', v_row.target_subject, 'key', v_row.target_key,
                         'evidence_count', cardinality(v_row.evidence_refs)),
      v_row.source_run_id, null, v_row.source_agent, null);
    perform public.actp_memory_critic_enqueue(v_row.id);
  else
    select * into v_row from public.actp_memory_proposals where idempotency_key = v_key;
    if (v_row.target_layer, v_row.target_subject, v_row.target_key, v_row.proposed_value, v_row.content, v_row.evidence_refs)
       is distinct from (v_layer, p ->> 'subject', p ->> 'key', p -> 'value', p ->> 'content', v_refs) then
      raise exception using errcode = 'P0001',
        message = format('memory.idempotency_conflict: idempotency key %s belongs to a different proposal (%s)', v_key, v_row.id);
    end if;
  end if;
  return jsonb_build_object('proposal', to_jsonb(v_row), 'created', v_created);
end
$$;

-- The critic's verdict for a pending proposal: sets the score, and the gate trigger decides. A
-- proposal scored already is returned as it is (a duplicate job is harmless).
create or replace function public.actp_memory_proposal_score(p_id uuid, p_score float8, p_critic jsonb default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_row public.actp_memory_proposals;
begin
  if p_score is null or p_score = 'NaN'::float8 or p_score < 0 or p_score > 10 then
    raise exception using errcode = 'P0001', message = format('memory.invalid_score: %s is not a score from 0 to 10', coalesce(p_score::text, 'null'));
  end if;
  select * into v_row from public.actp_memory_proposals where id = p_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = format('memory.proposal_not_found: no proposal %s', p_id);
  end if;
  if v_row.score is not null or v_row.status <> 'pending' then
    return jsonb_build_object('proposal', to_jsonb(v_row), 'scored', false);
  end if;
  update public.actp_memory_proposals set score = p_score, critic = p_critic where id = p_id returning * into v_row;
  return jsonb_build_object('proposal', to_jsonb(v_row), 'scored', true);
end
$$;

-- A person's decision on a deferred proposal; the reviewer is the caller's token identity
-- (actp_caller_actor()), p_label a name the request gave, kept beside it.
create or replace function public.actp_memory_proposal_review(p_id uuid, p_decision text, p_label text default null, p_reason text default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_row public.actp_memory_proposals;
begin
  if p_decision is null or p_decision not in ('approve', 'reject') then
    raise exception using errcode = 'P0001', message = 'memory.invalid_decision: decision is approve or reject';
  end if;
  select * into v_row from public.actp_memory_proposals where id = p_id for update;
  if not found then
    raise exception using errcode = 'P0001', message = format('memory.proposal_not_found: no proposal %s', p_id);
  end if;
  if v_row.status <> 'deferred' then
    raise exception using errcode = 'P0001',
      message = format('memory.proposal_state_conflict: proposal %s is %s; only a deferred proposal is reviewed by a person', p_id, v_row.status);
  end if;
  update public.actp_memory_proposals
     set status = case p_decision when 'approve' then 'approved' else 'rejected' end,
         reviewer_label = nullif(btrim(p_label), ''),
         reason = coalesce(nullif(btrim(p_reason), ''), case p_decision when 'approve' then 'approved_by_reviewer' else 'rejected_by_reviewer' end)
   where id = p_id
  returning * into v_row;
  return to_jsonb(v_row);
end
$$;

-- Access ----------------------------------------------------------------------------------------

select public.actp_secure_table('actp_memory_proposals', 'read');
select public.actp_secure_table('actp_memory_facts', 'read');
select public.actp_secure_table('actp_memory_proposal_decisions', 'read');

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.actp_memory_layer_number(text)', 'public.actp_memory_layer_name(int)',
    'public.actp_memory_facts_guard()', 'public.actp_memory_facts_emit_write()', 'public.actp_memory_facts_write(jsonb)',
    'public.actp_memory_facts_as_of(timestamptz, timestamptz)', 'public.actp_memory_gate_rule_version()',
    'public.actp_memory_gate_rule(jsonb)', 'public.actp_memory_gate_evidence(text[])', 'public.actp_memory_proposals_gate()',
    'public.actp_memory_proposals_decided()', 'public.actp_memory_critic_queue()', 'public.actp_memory_critic_enqueue(uuid)',
    'public.actp_memory_critic_sweep()', 'public.actp_memory_propose(jsonb)', 'public.actp_memory_proposal_score(uuid, float8, jsonb)',
    'public.actp_memory_proposal_review(uuid, text, text, text)'
  ] loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;
