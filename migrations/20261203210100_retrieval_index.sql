-- Retrieval index (PRD §4.7): vector + keyword search as a projection of the canonical stores.
--
-- How it stays fresh by construction:
--   * A row trigger on every attached source (actp_retrieval_attach) projects the row into the index
--     in the writer's own transaction: content, heading, metadata and a full-text vector, keyed by
--     the whitespace-normalized hash of what is embedded. Keyword search is therefore never behind.
--   * When, and only when, that hash changes, the row's embedding is due: the lexical embedder is
--     computed right there in SQL ('inline' generations); any other embedder gets ONE pending row per
--     (generation, source row) in actp_retrieval_pending (its primary key), and a pg-boss wake-up job
--     (one queued per generation: a 'stately' queue with the generation as singleton key).
--   * An embedding is written only if the hash it was computed from is still the row's hash
--     (actp_retrieval_write_embeddings), so an older job can never overwrite a newer version.
--   * Until then the row's vector is stale: search leaves it out of the vector ranking (its keyword
--     ranking still counts) and says so (`stale`).
--   * Schedules retry due work every minute and reconcile everything against the sources (missing,
--     stale and orphaned rows: the one view actp_retrieval_status).
--
-- Generations: every index row belongs to a generation = one embedder (name, dimensions). Exactly one
-- generation is active (search reads it); changing the embedder, or a full reindex, fills a new
-- 'filling' generation beside it and promotes it in one transaction once every row is embedded, so
-- search never sees an empty or half-filled index. Each generation has its own partial HNSW index
-- on embedding::vector(<dimensions>), which is how one column holds vectors of several sizes.

-- Embedders and generations --------------------------------------------------------------------

create table public.actp_retrieval_generations (
  id int generated always as identity primary key,
  embedder text not null check (embedder ~ '^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$'),
  dimensions int not null check (dimensions between 1 and 2000),
  lexical boolean not null,
  -- inline: embedded in SQL by the source trigger (the offline lexical embedder);
  -- queue: embedded by a worker (pg-boss queue actp.memory.embed) or an edge function.
  embed_mode text not null check (embed_mode in ('inline', 'queue')),
  state text not null default 'filling' check (state in ('filling', 'active', 'retired')),
  created_at timestamptz not null default now(),
  activated_at timestamptz,
  retired_at timestamptz,
  check (embed_mode = 'queue' or lexical)
);
create unique index actp_retrieval_generations_one_active on public.actp_retrieval_generations ((true)) where state = 'active';
create unique index actp_retrieval_generations_one_filling on public.actp_retrieval_generations ((true)) where state = 'filling';
comment on table public.actp_retrieval_generations is
  'PRD §4.7: one generation per embedder (name, dimensions); exactly one active, at most one filling (a re-embed in progress).';
select public.actp_secure_table('actp_retrieval_generations', 'read');

create table public.actp_retrieval_sources (
  source_table text primary key,
  relid oid not null unique,
  id_column text not null,
  id_type text not null,
  content_column text not null,
  layer text check (layer = any (public.actp_memory_layers())),
  layer_column text,
  agent_column text,
  heading_column text,
  path_column text,
  -- A row whose retired_column is not null leaves the index (e.g. a superseded fact).
  retired_column text,
  attached_at timestamptz not null default now(),
  check ((layer is null) <> (layer_column is null))
);
comment on table public.actp_retrieval_sources is 'PRD §4.7: the canonical tables the retrieval index projects (actp_retrieval_attach).';
select public.actp_secure_table('actp_retrieval_sources', 'read');

-- The index (projection) ----------------------------------------------------------------------

create table public.actp_retrieval_index (
  id uuid primary key default gen_random_uuid(),
  generation int not null references public.actp_retrieval_generations (id) on delete cascade,
  embedder text not null,
  dimensions int not null,
  source_table text not null,
  source_id text not null,
  layer text not null,
  agent_slug text,
  path text,
  heading text,
  content text not null,
  -- Hash of what is embedded (heading + content, whitespace-normalized): the source's current version.
  content_hash text not null,
  embedding extensions.vector,
  -- The hash the embedding was computed from; the vector is current when it equals content_hash
  -- (embedding null with a hash: the text has no features, e.g. only punctuation).
  embedded_hash text,
  keywords text[] not null default '{}',
  fts tsvector generated always as (
    setweight(to_tsvector('english'::regconfig, coalesce(heading, '')), 'A') || setweight(to_tsvector('english'::regconfig, content), 'B')
  ) stored,
  indexed_at timestamptz,
  updated_at timestamptz not null default now(),
  unique (generation, source_table, source_id),
  -- An embedding is always for some hash; a hash with no embedding is a text with nothing to embed.
  check (embedding is null or embedded_hash is not null),
  check (embedding is null or extensions.vector_dims(embedding) = dimensions)
);
create index actp_retrieval_index_fts_idx on public.actp_retrieval_index using gin (fts);
create index actp_retrieval_index_source_idx on public.actp_retrieval_index (source_table, source_id);
comment on table public.actp_retrieval_index is
  'PRD §4.7: vector + keyword projection of the canonical memory stores; rebuildable at any time (actp_retrieval_reindex).';
select public.actp_secure_table('actp_retrieval_index', 'read');

create table public.actp_retrieval_pending (
  generation int not null references public.actp_retrieval_generations (id) on delete cascade,
  source_table text not null,
  source_id text not null,
  content_hash text not null,
  -- How many times this row became due (once per new hash): the proof that identical updates enqueue once.
  enqueues int not null default 1,
  attempts int not null default 0,
  not_before timestamptz not null default now(),
  claimed_until timestamptz,
  last_error text,
  enqueued_at timestamptz not null default now(),
  primary key (generation, source_table, source_id)
);
create index actp_retrieval_pending_due_idx on public.actp_retrieval_pending (generation, not_before);
comment on table public.actp_retrieval_pending is
  'PRD §4.7: embeddings due, one row per generation and source row (its current hash); claimed by workers with a lease.';
select public.actp_secure_table('actp_retrieval_pending', 'read');

-- The offline lexical embedder -----------------------------------------------------------------

-- Not a language model: feature hashing of Postgres' English stems (weight 1 + ln tf) and of
-- character trigrams of each word (weight 0.35, catching typos and inflections the stemmer misses),
-- signed buckets, L2-normalized. It needs no weights and no network, runs the same in every
-- Postgres (SQL is its one implementation: the trigger, the search function and the TypeScript
-- embedder all call it), and is honest about what it is: `lexical = true`.
create or replace function public.actp_embed_lexical(p_text text, p_dimensions int default 384)
returns extensions.vector
language sql
immutable
strict
parallel safe
set search_path = ''
as $$
  with feats as (
    select 'w:' || t.lexeme as f, (1 + ln(coalesce(array_length(t.positions, 1), 1)))::float8 as w
      from unnest(to_tsvector('english'::regconfig, p_text)) t
    union all
    select 'g:' || substr(w.word, g, 3), 0.35::float8
      from (select '<' || m[1] || '>' as word
              from regexp_matches(lower(left(p_text, 20000)), '([[:alnum:]]{3,})', 'g') m) w,
           generate_series(1, length(w.word) - 2) g
  ), buckets as (
    select (h & 2147483647) % p_dimensions as b, sum(case when h & 1 = 0 then w else -w end) as v
      from (select hashtext(f) as h, w from feats) x
     group by 1
  )
  select case when count(b.v) = 0 or sqrt(sum(coalesce(b.v, 0) ^ 2)) = 0 then null
         else extensions.l2_normalize(array_agg(coalesce(b.v, 0)::float4 order by i.i)::extensions.vector) end
    from generate_series(0, p_dimensions - 1) i(i)
    left join buckets b on b.b = i.i
$$;
revoke all on function public.actp_embed_lexical(text, int) from public, anon, authenticated;
-- A pure function: readers embed their query with it inside actp_retrieval_search.
grant execute on function public.actp_embed_lexical(text, int) to service_role, authenticated;

create or replace function public.actp_retrieval_text(p_heading text, p_content text)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$ select case when coalesce(p_heading, '') = '' then coalesce(p_content, '') else p_heading || E'\n' || coalesce(p_content, '') end $$;
revoke all on function public.actp_retrieval_text(text, text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_text(text, text) to service_role, authenticated;

-- The 32 most frequent stems: the PRD's `keywords` column.
create or replace function public.actp_retrieval_keywords(p_text text)
returns text[]
language sql
immutable
parallel safe
set search_path = ''
as $$
  select coalesce(array(
    select t.lexeme from unnest(to_tsvector('english'::regconfig, coalesce(p_text, ''))) t
     order by coalesce(array_length(t.positions, 1), 0) desc, t.lexeme limit 32), '{}')
$$;
revoke all on function public.actp_retrieval_keywords(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_keywords(text) to service_role;

-- pg-boss wake-up ------------------------------------------------------------------------------

create or replace function public.actp_retrieval_queue_name()
returns text
language sql
immutable
set search_path = ''
as $$ select 'actp.memory.embed' $$;
revoke all on function public.actp_retrieval_queue_name() from public, anon, authenticated;
grant execute on function public.actp_retrieval_queue_name() to service_role;

-- One queued wake-up per generation (stately queue, singleton key = generation): the worker drains
-- the pending table in batches, so a burst of writes costs one job, not one per row. Once per
-- transaction and generation; a database without pg-boss simply relies on the retry schedule.
create or replace function public.actp_retrieval_wake(p_generation int)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_queue text := public.actp_retrieval_queue_name();
  v_flag text := 'actp.retrieval_woken_' || p_generation;
  v_table text;
  v_notify boolean;
  v_id uuid;
begin
  if current_setting(v_flag, true) = txid_current()::text then
    return false;
  end if;
  perform set_config(v_flag, txid_current()::text, true);
  if to_regclass('pgboss.queue') is null or to_regprocedure('pgboss.create_queue(text, jsonb)') is null then
    return false;
  end if;
  select q.table_name, q.notify into v_table, v_notify from pgboss.queue q where q.name = v_queue;
  if v_table is null then
    perform pg_advisory_xact_lock(
      ('x' || encode(sha224((current_database() || '.pgboss.pgboss' || 'create-queue')::bytea), 'hex'))::bit(64)::bigint);
    if not exists (select 1 from pgboss.queue where name = v_queue) then
      perform pgboss.create_queue(v_queue, jsonb_build_object('policy', 'stately', 'retryLimit', 5, 'retryDelay', 5,
        'retryBackoff', true, 'expireInSeconds', 900, 'retentionSeconds', 86400));
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
  using jsonb_build_object('generation', p_generation), 'generation:' || p_generation, v_queue;
  if v_id is not null and v_notify then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;
  return v_id is not null;
end
$$;
revoke all on function public.actp_retrieval_wake(int) from public, anon, authenticated;
grant execute on function public.actp_retrieval_wake(int) to service_role;

-- Projection -----------------------------------------------------------------------------------

-- Projects one source row into every live generation. The index row follows the source at once
-- (content, metadata, full text); the embedding only when the hash changed: inline for a lexical
-- generation, else one pending row per (generation, source row), re-armed with the new hash.
create or replace function public.actp_retrieval_project(
  p_source text, p_id text, p_content text, p_layer text, p_agent text, p_heading text, p_path text
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  g record;
  v_text text := public.actp_retrieval_text(p_heading, p_content);
  v_hash text := public.actp_memory_hash(v_text);
  v_changed boolean;
begin
  for g in select * from public.actp_retrieval_generations where state in ('active', 'filling') order by id loop
    -- Changed hash: the row's content and due embedding move together. Under concurrent identical
    -- writes the second waits for the first's row lock, re-reads, finds the hash current: no-op.
    update public.actp_retrieval_index i
       set content = coalesce(p_content, ''), heading = p_heading, path = p_path, layer = p_layer, agent_slug = p_agent,
           content_hash = v_hash, keywords = public.actp_retrieval_keywords(v_text), updated_at = now(),
           embedding = case when g.embed_mode = 'inline' then public.actp_embed_lexical(v_text, g.dimensions) else i.embedding end,
           embedded_hash = case when g.embed_mode = 'inline' then v_hash else i.embedded_hash end,
           indexed_at = case when g.embed_mode = 'inline' then now() else i.indexed_at end
     where i.generation = g.id and i.source_table = p_source and i.source_id = p_id and i.content_hash <> v_hash;
    v_changed := found;
    if not v_changed then
      with ins as (
        insert into public.actp_retrieval_index as i (generation, embedder, dimensions, source_table, source_id, layer, agent_slug, path, heading,
                                                      content, content_hash, keywords, embedding, embedded_hash, indexed_at)
        select g.id, g.embedder, g.dimensions, p_source, p_id, p_layer, p_agent, p_path, p_heading, coalesce(p_content, ''), v_hash,
               public.actp_retrieval_keywords(v_text), e.v, case when g.embed_mode = 'inline' then v_hash end,
               case when g.embed_mode = 'inline' then now() end
          from (select case when g.embed_mode = 'inline' then public.actp_embed_lexical(v_text, g.dimensions) end as v) e
        on conflict (generation, source_table, source_id) do nothing
        returning 1
      )
      select count(*) > 0 into v_changed from ins;
      if not v_changed then
        -- Same content: keep the embedding, follow metadata (a renamed path, a moved heading).
        update public.actp_retrieval_index i
           set layer = p_layer, agent_slug = p_agent, path = p_path, updated_at = now()
         where i.generation = g.id and i.source_table = p_source and i.source_id = p_id
           and (i.layer is distinct from p_layer or i.agent_slug is distinct from p_agent or i.path is distinct from p_path);
        continue;
      end if;
    end if;
    if g.embed_mode = 'queue' then
      insert into public.actp_retrieval_pending as p (generation, source_table, source_id, content_hash)
      values (g.id, p_source, p_id, v_hash)
      on conflict (generation, source_table, source_id) do update
        set content_hash = excluded.content_hash, enqueues = p.enqueues + 1, attempts = 0, not_before = now(),
            claimed_until = null, last_error = null, enqueued_at = now()
        where p.content_hash <> excluded.content_hash;
      perform public.actp_retrieval_wake(g.id);
    end if;
  end loop;
end
$$;
revoke all on function public.actp_retrieval_project(text, text, text, text, text, text, text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_project(text, text, text, text, text, text, text) to service_role;

create or replace function public.actp_retrieval_forget(p_source text, p_id text)
returns void
language sql
security definer
set search_path = ''
as $$
  delete from public.actp_retrieval_pending where source_table = p_source and source_id = p_id;
  delete from public.actp_retrieval_index where source_table = p_source and source_id = p_id;
$$;
revoke all on function public.actp_retrieval_forget(text, text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_forget(text, text) to service_role;

-- The one trigger function of every attached source: reads the table's mapping, projects NEW,
-- forgets OLD when the row is gone, retired or renamed.
create or replace function public.actp_retrieval_tg_source()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  s public.actp_retrieval_sources;
  v_name text := case when tg_table_schema = 'public' then tg_table_name else tg_table_schema || '.' || tg_table_name end;
  j jsonb;
  o jsonb;
begin
  select * into s from public.actp_retrieval_sources where source_table = v_name;
  if not found then
    return null;
  end if;
  if tg_op = 'TRUNCATE' then
    delete from public.actp_retrieval_pending where source_table = v_name;
    delete from public.actp_retrieval_index where source_table = v_name;
    return null;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    o := to_jsonb(old);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    j := to_jsonb(new);
  end if;
  if o is not null and (j is null or (o ->> s.id_column) is distinct from (j ->> s.id_column)) then
    perform public.actp_retrieval_forget(v_name, o ->> s.id_column);
  end if;
  if j is null then
    return null;
  end if;
  if s.retired_column is not null and j ->> s.retired_column is not null then
    perform public.actp_retrieval_forget(v_name, j ->> s.id_column);
    return null;
  end if;
  perform public.actp_retrieval_project(
    v_name, j ->> s.id_column, j ->> s.content_column,
    coalesce(s.layer, j ->> s.layer_column),
    case when s.agent_column is not null then j ->> s.agent_column end,
    case when s.heading_column is not null then j ->> s.heading_column end,
    case when s.path_column is not null then j ->> s.path_column end);
  return null;
end
$$;
revoke all on function public.actp_retrieval_tg_source() from public, anon, authenticated;

-- The rows of one source as the index sees them (dynamic, from the source's mapping).
create or replace function public.actp_retrieval_source_sql(s public.actp_retrieval_sources)
returns text
language sql
stable
set search_path = ''
as $$
  select format(
    'select %I::text as source_id, %I::text as content, %s as layer, %s as agent_slug, %s as heading, %s as path from %s where %s',
    s.id_column, s.content_column,
    case when s.layer is not null then format('%L::text', s.layer) else format('%I::text', s.layer_column) end,
    case when s.agent_column is null then 'null::text' else format('%I::text', s.agent_column) end,
    case when s.heading_column is null then 'null::text' else format('%I::text', s.heading_column) end,
    case when s.path_column is null then 'null::text' else format('%I::text', s.path_column) end,
    s.relid::regclass::text,
    case when s.retired_column is null then 'true' else format('%I is null', s.retired_column) end)
$$;
revoke all on function public.actp_retrieval_source_sql(public.actp_retrieval_sources) from public, anon, authenticated;
grant execute on function public.actp_retrieval_source_sql(public.actp_retrieval_sources) to service_role, authenticated;

-- Attaches any table as a canonical source: its mapping, its triggers, and its existing rows.
-- The table needs an id column and a text column with what to index; the layer is a constant or a
-- column; agent, heading, path and a "retired" column (not null = leaves the index) are optional.
create or replace function public.actp_retrieval_attach(
  p_source regclass,
  p_content_column text default 'content',
  p_id_column text default 'id',
  p_layer text default null,
  p_layer_column text default null,
  p_agent_column text default null,
  p_heading_column text default null,
  p_path_column text default null,
  p_retired_column text default null
)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text;
  v_schema text;
  v_rel text;
  v_col text;
  v_id_type text;
  v_rows int;
  s public.actp_retrieval_sources;
begin
  select n.nspname, c.relname into v_schema, v_rel from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.oid = p_source;
  v_name := case when v_schema = 'public' then v_rel else v_schema || '.' || v_rel end;
  foreach v_col in array array_remove(array[p_content_column, p_id_column, p_layer_column, p_agent_column, p_heading_column, p_path_column, p_retired_column], null) loop
    if not exists (select 1 from pg_catalog.pg_attribute a where a.attrelid = p_source and a.attname = v_col and a.attnum > 0 and not a.attisdropped) then
      raise exception using errcode = 'P0001', message = format('memory.invalid_source: %s has no column %I', v_name, v_col);
    end if;
  end loop;
  if (p_layer is null) = (p_layer_column is null) then
    raise exception using errcode = 'P0001', message = 'memory.invalid_source: give either a layer or a layer column';
  end if;
  if p_layer is not null and not (p_layer = any (public.actp_memory_layers())) then
    raise exception using errcode = 'P0001', message = format('memory.invalid_layer: %L is not one of %s', p_layer, array_to_string(public.actp_memory_layers(), ', '));
  end if;
  select pg_catalog.format_type(a.atttypid, a.atttypmod) into v_id_type from pg_catalog.pg_attribute a where a.attrelid = p_source and a.attname = p_id_column;

  insert into public.actp_retrieval_sources (source_table, relid, id_column, id_type, content_column, layer, layer_column, agent_column, heading_column, path_column, retired_column)
  values (v_name, p_source, p_id_column, v_id_type, p_content_column, p_layer, p_layer_column, p_agent_column, p_heading_column, p_path_column, p_retired_column)
  on conflict (source_table) do update set relid = excluded.relid, id_column = excluded.id_column, id_type = excluded.id_type,
    content_column = excluded.content_column, layer = excluded.layer, layer_column = excluded.layer_column,
    agent_column = excluded.agent_column, heading_column = excluded.heading_column, path_column = excluded.path_column,
    retired_column = excluded.retired_column
  returning * into s;

  execute format('drop trigger if exists %I on %s', 'tg_' || v_rel || '__retrieval', p_source);
  execute format('drop trigger if exists %I on %s', 'tg_' || v_rel || '__retrieval_truncate', p_source);
  execute format('create trigger %I after insert or update or delete on %s for each row execute function public.actp_retrieval_tg_source()',
                 'tg_' || v_rel || '__retrieval', p_source);
  execute format('create trigger %I after truncate on %s for each statement execute function public.actp_retrieval_tg_source()',
                 'tg_' || v_rel || '__retrieval_truncate', p_source);

  v_rows := public.actp_retrieval_reconcile(v_name);
  return v_rows;
end
$$;
revoke all on function public.actp_retrieval_attach(regclass, text, text, text, text, text, text, text, text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_attach(regclass, text, text, text, text, text, text, text, text) to service_role;

-- Readers run the status and search functions as themselves (RLS lets them read the sources), and
-- those hash rows with it: a pure function.
grant execute on function public.actp_memory_hash(text) to authenticated;

-- Status: the one view of fresh / stale / missing / orphaned ----------------------------------

-- Compares every live generation with the sources as they are now. stale = the index row's hash is
-- not the source's, or its vector is not for that hash; missing = a source row with no index row;
-- orphaned = an index row whose source row is gone or retired (or whose table is detached).
create or replace function public.actp_retrieval_status_rows(p_source text default null)
returns table (generation int, generation_state text, source_table text, source_id text, state text, content_hash text, source_hash text)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
declare
  s public.actp_retrieval_sources;
  g record;
begin
  if not public.actp_can_read() then
    raise exception using errcode = 'P0001', message = 'auth.forbidden: the retrieval index status needs an actp operator or viewer, or the service role';
  end if;
  for g in select * from public.actp_retrieval_generations where state in ('active', 'filling') order by id loop
    for s in select * from public.actp_retrieval_sources where p_source is null or public.actp_retrieval_sources.source_table = p_source order by 1 loop
      return query execute format($q$
        select %s::int, %L::text, %L::text, coalesce(i.source_id, src.source_id),
               case when i.source_id is null then 'missing'
                    when src.source_id is null then 'orphaned'
                    when i.content_hash <> src.h or i.embedded_hash is distinct from i.content_hash then 'stale'
                    else 'fresh' end,
               i.content_hash, src.h
          from (select r.source_id, public.actp_memory_hash(public.actp_retrieval_text(r.heading, r.content)) as h from (%s) r) src
          full join (select x.source_id, x.content_hash, x.embedded_hash from public.actp_retrieval_index x
                      where x.generation = %s and x.source_table = %L) i on i.source_id = src.source_id
      $q$, g.id, g.state, s.source_table, public.actp_retrieval_source_sql(s), g.id, s.source_table);
    end loop;
    return query
      select g.id, g.state::text, x.source_table, x.source_id, 'orphaned'::text, x.content_hash, null::text
        from public.actp_retrieval_index x
       where x.generation = g.id and (p_source is null or x.source_table = p_source)
         and not exists (select 1 from public.actp_retrieval_sources s2 where s2.source_table = x.source_table);
  end loop;
end
$$;
revoke all on function public.actp_retrieval_status_rows(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_status_rows(text) to service_role, authenticated;

create view public.actp_retrieval_status with (security_invoker = true) as
  select * from public.actp_retrieval_status_rows(null);
comment on view public.actp_retrieval_status is 'PRD §4.7: every index row and source row of each live generation, as fresh, stale, missing or orphaned.';
revoke all on public.actp_retrieval_status from public, anon, authenticated;
grant select on public.actp_retrieval_status to service_role, authenticated;

-- Counts per state for the active generation, and the progress of a filling one.
create or replace function public.actp_retrieval_status_counts(p_source text default null)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with r as (select * from public.actp_retrieval_status_rows(p_source)),
  per_gen as (
    select g.id, g.state, g.embedder, g.dimensions, g.lexical, g.embed_mode,
           jsonb_build_object(
             'fresh', count(r.*) filter (where r.state = 'fresh'),
             'stale', count(r.*) filter (where r.state = 'stale'),
             'missing', count(r.*) filter (where r.state = 'missing'),
             'orphaned', count(r.*) filter (where r.state = 'orphaned')) as counts,
           (select count(*) from public.actp_retrieval_pending p where p.generation = g.id) as pending
      from public.actp_retrieval_generations g
      left join r on r.generation = g.id
     where g.state in ('active', 'filling')
     group by g.id
  )
  select jsonb_build_object(
    'active', (select jsonb_build_object('generation', id, 'embedder', jsonb_build_object('name', embedder, 'dimensions', dimensions, 'lexical', lexical),
                                         'embed_mode', embed_mode, 'pending', pending) || counts from per_gen where state = 'active'),
    'filling', (select jsonb_build_object('generation', id, 'embedder', jsonb_build_object('name', embedder, 'dimensions', dimensions, 'lexical', lexical),
                                          'embed_mode', embed_mode, 'pending', pending) || counts from per_gen where state = 'filling'),
    'sources', (select coalesce(jsonb_agg(source_table order by source_table), '[]') from public.actp_retrieval_sources
                 where p_source is null or source_table = p_source))
$$;
revoke all on function public.actp_retrieval_status_counts(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_status_counts(text) to service_role, authenticated;

-- Reconcile: brings live generations back to the sources (the sweep) ---------------------------

create or replace function public.actp_retrieval_reconcile(p_source text default null)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  s public.actp_retrieval_sources;
  r record;
  v_n int := 0;
begin
  -- Orphans: gone, retired, or of a detached table.
  for r in select distinct st.source_table, st.source_id from public.actp_retrieval_status_rows(p_source) st where st.state = 'orphaned' loop
    perform public.actp_retrieval_forget(r.source_table, r.source_id);
    v_n := v_n + 1;
  end loop;
  -- Missing and stale-against-source rows: project them again (a no-op where only the vector is due).
  for s in select * from public.actp_retrieval_sources where p_source is null or source_table = p_source loop
    for r in execute format($q$
      select src.* from (%s) src
       where exists (select 1 from public.actp_retrieval_generations g
                      where g.state in ('active', 'filling')
                        and not exists (select 1 from public.actp_retrieval_index x
                                         where x.generation = g.id and x.source_table = %L and x.source_id = src.source_id
                                           and x.content_hash = public.actp_memory_hash(public.actp_retrieval_text(src.heading, src.content))))
    $q$, public.actp_retrieval_source_sql(s), s.source_table) loop
      perform public.actp_retrieval_project(s.source_table, r.source_id, r.content, r.layer, r.agent_slug, r.heading, r.path);
      v_n := v_n + 1;
    end loop;
  end loop;
  return v_n;
end
$$;
revoke all on function public.actp_retrieval_reconcile(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_reconcile(text) to service_role;

-- Embedding work (workers, edge functions, SQL) ------------------------------------------------

-- Claims up to p_limit due rows of a generation with a lease, returning the text to embed and the
-- hash it has now. Skip-locked, so parallel workers take disjoint batches.
create or replace function public.actp_retrieval_claim(p_generation int, p_limit int default 64, p_lease_seconds int default 120)
returns table (source_table text, source_id text, content_hash text, text text)
language sql
security definer
set search_path = ''
as $$
  with due as (
    select p.generation, p.source_table, p.source_id
      from public.actp_retrieval_pending p
     where p.generation = p_generation and p.not_before <= now() and (p.claimed_until is null or p.claimed_until < now())
     order by p.not_before, p.enqueued_at
     limit greatest(1, least(p_limit, 1000))
     for update skip locked
  ), claimed as (
    update public.actp_retrieval_pending p
       set claimed_until = now() + make_interval(secs => p_lease_seconds), attempts = p.attempts + 1
      from due
     where p.generation = due.generation and p.source_table = due.source_table and p.source_id = due.source_id
    returning p.source_table, p.source_id, p.content_hash
  )
  select c.source_table, c.source_id, i.content_hash, public.actp_retrieval_text(i.heading, i.content)
    from claimed c
    join public.actp_retrieval_index i on i.generation = p_generation and i.source_table = c.source_table and i.source_id = c.source_id
$$;
revoke all on function public.actp_retrieval_claim(int, int, int) from public, anon, authenticated;
grant execute on function public.actp_retrieval_claim(int, int, int) to service_role;

-- Writes embeddings: p_items = [{ source_table, source_id, content_hash, embedding: [..] }]. Each is
-- written only if content_hash is still the row's hash (the row lock makes a concurrent source
-- update wait or win), and its pending row is cleared only for that hash. Promotes a filling
-- generation once nothing is left to embed. Returns { written, discarded, promoted }.
create or replace function public.actp_retrieval_write_embeddings(p_generation int, p_items jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  g public.actp_retrieval_generations;
  v_written int;
  v_total int := jsonb_array_length(p_items);
  v_promoted boolean := false;
begin
  select * into g from public.actp_retrieval_generations where id = p_generation;
  if not found or g.state = 'retired' then
    -- The generation was replaced meanwhile: nothing to write, the work is moot.
    return jsonb_build_object('written', 0, 'discarded', v_total, 'promoted', false);
  end if;
  if exists (select 1 from jsonb_array_elements(p_items) e where jsonb_array_length(e -> 'embedding') <> g.dimensions) then
    raise exception using errcode = 'P0001', message = format('memory.embedding_dimensions: generation %s (%s) expects %s dimensions', g.id, g.embedder, g.dimensions);
  end if;
  with items as (
    select e ->> 'source_table' as source_table, e ->> 'source_id' as source_id, e ->> 'content_hash' as content_hash,
           (e ->> 'embedding')::extensions.vector as embedding
      from jsonb_array_elements(p_items) e
  ), written as (
    update public.actp_retrieval_index i
       set embedding = it.embedding, embedded_hash = it.content_hash, indexed_at = now()
      from items it
     where i.generation = p_generation and i.source_table = it.source_table and i.source_id = it.source_id
       and i.content_hash = it.content_hash
    returning i.source_table, i.source_id, i.content_hash
  ), cleared as (
    delete from public.actp_retrieval_pending p
     using items it
     where p.generation = p_generation and p.source_table = it.source_table and p.source_id = it.source_id
       and p.content_hash = it.content_hash
    returning 1
  )
  -- Both CTEs run in full whether read or not; only the writes are counted.
  select count(*) into v_written from written;
  if g.state = 'filling' then
    v_promoted := public.actp_retrieval_promote_if_complete(p_generation);
  end if;
  return jsonb_build_object('written', v_written, 'discarded', v_total - v_written, 'promoted', v_promoted);
end
$$;
revoke all on function public.actp_retrieval_write_embeddings(int, jsonb) from public, anon, authenticated;
grant execute on function public.actp_retrieval_write_embeddings(int, jsonb) to service_role;

-- A failed batch: back off (exponential, capped at 10 minutes) and release the lease.
create or replace function public.actp_retrieval_release(p_generation int, p_items jsonb, p_error text)
returns int
language sql
security definer
set search_path = ''
as $$
  with items as (select e ->> 'source_table' as source_table, e ->> 'source_id' as source_id, e ->> 'content_hash' as content_hash
                   from jsonb_array_elements(p_items) e),
  upd as (
    update public.actp_retrieval_pending p
       set claimed_until = null, last_error = left(p_error, 1000),
           not_before = now() + least(interval '10 minutes', interval '5 seconds' * power(2, least(p.attempts, 12)))
      from items it
     where p.generation = p_generation and p.source_table = it.source_table and p.source_id = it.source_id and p.content_hash = it.content_hash
    returning 1
  )
  select count(*)::int from upd
$$;
revoke all on function public.actp_retrieval_release(int, jsonb, text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_release(int, jsonb, text) to service_role;

-- Embeds due rows of inline (lexical) generations in SQL: the path that needs no worker at all.
create or replace function public.actp_retrieval_embed_inline(p_limit int default 1000)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_n int := 0;
  v_g int;
begin
  with due as (
    select i.id from public.actp_retrieval_index i
      join public.actp_retrieval_generations g on g.id = i.generation and g.embed_mode = 'inline' and g.state in ('active', 'filling')
     where i.embedded_hash is distinct from i.content_hash
     limit p_limit
     for update of i skip locked
  )
  update public.actp_retrieval_index i
     set embedding = public.actp_embed_lexical(public.actp_retrieval_text(i.heading, i.content), i.dimensions),
         embedded_hash = i.content_hash, indexed_at = now()
    from due where i.id = due.id;
  get diagnostics v_n = row_count;
  for v_g in select id from public.actp_retrieval_generations where state = 'filling' loop
    perform public.actp_retrieval_promote_if_complete(v_g);
  end loop;
  return v_n;
end
$$;
revoke all on function public.actp_retrieval_embed_inline(int) from public, anon, authenticated;
grant execute on function public.actp_retrieval_embed_inline(int) to service_role;

-- Generations: begin, fill, promote ------------------------------------------------------------

create or replace function public.actp_retrieval_hnsw_name(p_generation int)
returns text
language sql
immutable
set search_path = ''
as $$ select 'actp_retrieval_index_hnsw_g' || p_generation $$;
revoke all on function public.actp_retrieval_hnsw_name(int) from public, anon, authenticated;
grant execute on function public.actp_retrieval_hnsw_name(int) to service_role;

create or replace function public.actp_retrieval_create_hnsw(p_generation int, p_dimensions int)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform set_config('maintenance_work_mem', '256MB', true);
  execute format('create index if not exists %I on public.actp_retrieval_index using hnsw ((embedding::extensions.vector(%s)) extensions.vector_cosine_ops) where generation = %s',
                 public.actp_retrieval_hnsw_name(p_generation), p_dimensions, p_generation);
end
$$;
revoke all on function public.actp_retrieval_create_hnsw(int, int) from public, anon, authenticated;
grant execute on function public.actp_retrieval_create_hnsw(int, int) to service_role;

-- Promotes a filling generation when every row of it is embedded and nothing is pending: in one
-- transaction the old active generation is retired (its rows and HNSW index dropped) and the new one
-- becomes active, so a search sees either the old index or the new one, whole.
create or replace function public.actp_retrieval_promote_if_complete(p_generation int, p_force boolean default false)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_old int;
begin
  perform 1 from public.actp_retrieval_generations where id = p_generation and state = 'filling' for update;
  if not found then
    return false;
  end if;
  if not p_force and (
       exists (select 1 from public.actp_retrieval_pending where generation = p_generation)
    or exists (select 1 from public.actp_retrieval_index where generation = p_generation and embedded_hash is distinct from content_hash)) then
    return false;
  end if;
  select id into v_old from public.actp_retrieval_generations where state = 'active' for update;
  if v_old is not null then
    update public.actp_retrieval_generations set state = 'retired', retired_at = now() where id = v_old;
    execute format('drop index if exists public.%I', public.actp_retrieval_hnsw_name(v_old));
    delete from public.actp_retrieval_pending where generation = v_old;
    delete from public.actp_retrieval_index where generation = v_old;
  end if;
  update public.actp_retrieval_generations set state = 'active', activated_at = now() where id = p_generation;
  return true;
end
$$;
revoke all on function public.actp_retrieval_promote_if_complete(int, boolean) from public, anon, authenticated;
grant execute on function public.actp_retrieval_promote_if_complete(int, boolean) to service_role;

-- Starts a generation for an embedder and fills it from every source. A lexical inline generation is
-- embedded in the same call and promoted at once; a queued one is promoted by the last embedding
-- write. A filling generation that is left over from an abandoned switch is retired first.
create or replace function public.actp_retrieval_begin_generation(p_embedder text, p_dimensions int, p_lexical boolean, p_embed_mode text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_mode text := coalesce(p_embed_mode, case when p_lexical then 'inline' else 'queue' end);
  v_g int;
  v_old_filling int;
  s public.actp_retrieval_sources;
  v_rows int := 0;
  v_n int;
  v_promoted boolean;
begin
  -- One switch at a time.
  perform pg_advisory_xact_lock(hashtextextended('actp.retrieval.generation', 0));
  for v_old_filling in select id from public.actp_retrieval_generations where state = 'filling' loop
    update public.actp_retrieval_generations set state = 'retired', retired_at = now() where id = v_old_filling;
    execute format('drop index if exists public.%I', public.actp_retrieval_hnsw_name(v_old_filling));
    delete from public.actp_retrieval_index where generation = v_old_filling;
  end loop;
  insert into public.actp_retrieval_generations (embedder, dimensions, lexical, embed_mode, state)
  values (p_embedder, p_dimensions, p_lexical, v_mode, 'filling')
  returning id into v_g;
  -- A queued generation is embedded row by row: its HNSW index grows with it. An inline one is
  -- filled here first and its index built in bulk afterwards, several times faster than inserting
  -- into the graph row by row (writers of the sources wait for that build, then go on).
  if v_mode = 'queue' then
    perform public.actp_retrieval_create_hnsw(v_g, p_dimensions);
  end if;

  for s in select * from public.actp_retrieval_sources order by source_table loop
    execute format($q$
      insert into public.actp_retrieval_index (generation, embedder, dimensions, source_table, source_id, layer, agent_slug, path, heading,
                                               content, content_hash, keywords, embedding, embedded_hash, indexed_at)
      select %1$s, %2$L, %3$s, %4$L, r.source_id, r.layer, r.agent_slug, r.path, r.heading, coalesce(r.content, ''),
             public.actp_memory_hash(t.t), public.actp_retrieval_keywords(t.t), e.v,
             case when %6$L = 'inline' then public.actp_memory_hash(t.t) end, case when %6$L = 'inline' then now() end
        from (%5$s) r
        cross join lateral (select public.actp_retrieval_text(r.heading, r.content) as t) t
        cross join lateral (select case when %6$L = 'inline' then public.actp_embed_lexical(t.t, %3$s) end as v) e
      on conflict (generation, source_table, source_id) do nothing
    $q$, v_g, p_embedder, p_dimensions, s.source_table, public.actp_retrieval_source_sql(s), v_mode);
    get diagnostics v_n = row_count;
    v_rows := v_rows + v_n;
  end loop;
  if v_mode = 'inline' then
    perform public.actp_retrieval_create_hnsw(v_g, p_dimensions);
  end if;
  if v_mode = 'queue' then
    insert into public.actp_retrieval_pending (generation, source_table, source_id, content_hash)
    select v_g, i.source_table, i.source_id, i.content_hash from public.actp_retrieval_index i
     where i.generation = v_g;
    perform public.actp_retrieval_wake(v_g);
  end if;
  v_promoted := public.actp_retrieval_promote_if_complete(v_g);
  return jsonb_build_object('generation', v_g, 'embedder', p_embedder, 'dimensions', p_dimensions, 'lexical', p_lexical,
    'embed_mode', v_mode, 'rows', v_rows, 'pending', (select count(*) from public.actp_retrieval_pending where generation = v_g),
    'state', case when v_promoted then 'active' else 'filling' end);
end
$$;
revoke all on function public.actp_retrieval_begin_generation(text, int, boolean, text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_begin_generation(text, int, boolean, text) to service_role;

-- Rebuilds from the canonical stores. All sources: a new generation with the active embedder,
-- filled beside the old one and swapped in (for the lexical embedder, within this call). One source:
-- its rows are dropped and projected again in every live generation, in this transaction (readers
-- see the old rows until it commits).
create or replace function public.actp_retrieval_reindex(p_source text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  a public.actp_retrieval_generations;
  s public.actp_retrieval_sources;
  r record;
  v_n int := 0;
begin
  select * into a from public.actp_retrieval_generations where state = 'active';
  if not found then
    raise exception using errcode = 'P0001', message = 'memory.index_unavailable: no active retrieval generation';
  end if;
  if p_source is null then
    return public.actp_retrieval_begin_generation(a.embedder, a.dimensions, a.lexical, a.embed_mode) || jsonb_build_object('source', null);
  end if;
  select * into s from public.actp_retrieval_sources where source_table = p_source;
  if not found then
    raise exception using errcode = 'P0001', message = format('memory.source_not_found: %L is not attached to the retrieval index', p_source);
  end if;
  delete from public.actp_retrieval_pending where source_table = p_source;
  delete from public.actp_retrieval_index where source_table = p_source;
  for r in execute public.actp_retrieval_source_sql(s) loop
    perform public.actp_retrieval_project(s.source_table, r.source_id, r.content, r.layer, r.agent_slug, r.heading, r.path);
    v_n := v_n + 1;
  end loop;
  return jsonb_build_object('generation', a.id, 'embedder', a.embedder, 'dimensions', a.dimensions, 'lexical', a.lexical,
    'embed_mode', a.embed_mode, 'source', p_source, 'rows', v_n,
    'pending', (select count(*) from public.actp_retrieval_pending where source_table = p_source), 'state', 'active');
end
$$;
revoke all on function public.actp_retrieval_reindex(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_reindex(text) to service_role;

-- Search -------------------------------------------------------------------------------------

-- websearch-style input, OR-ed over its stems: a natural question matches a chunk that has some of
-- its words, and ts_rank_cd ranks chunks with more of them, closer together, first.
create or replace function public.actp_retrieval_tsquery(p_query text)
returns tsquery
language sql
immutable
parallel safe
set search_path = ''
as $$
  select string_agg(quote_literal(t.lexeme), ' | ' order by t.lexeme)::tsquery
    from unnest(to_tsvector('english'::regconfig, coalesce(p_query, ''))) t
$$;
revoke all on function public.actp_retrieval_tsquery(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_tsquery(text) to service_role, authenticated;

-- The PRD's read-time check: the hash a source row has now (null when it is gone or retired), by
-- primary key, for the few rows a search returns.
create or replace function public.actp_retrieval_source_hash(p_source text, p_id text)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  s public.actp_retrieval_sources;
  v_hash text;
begin
  select * into s from public.actp_retrieval_sources where source_table = p_source;
  if not found then
    return null;
  end if;
  execute format('select public.actp_memory_hash(public.actp_retrieval_text(%s, %I::text)) from %s where %I = $1::%s and %s',
                 case when s.heading_column is null then 'null::text' else format('%I::text', s.heading_column) end, s.content_column, s.relid::regclass::text,
                 s.id_column, s.id_type, case when s.retired_column is null then 'true' else format('%I is null', s.retired_column) end)
    into v_hash using p_id;
  return v_hash;
end
$$;
revoke all on function public.actp_retrieval_source_hash(text, text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_source_hash(text, text) to service_role, authenticated;

-- Hybrid search (keyword + vector, reciprocal rank fusion, as in Supabase's hybrid search guide):
-- each side ranks up to p_k * 2 candidates of the active generation under the filters; a result's
-- score is sum(weight / (p_rrf_k + rank)). A row whose vector is stale (its embedding is not for
-- its current content) takes no part in the vector ranking, only in the keyword one; `stale` says
-- so, and also (the PRD's read-time check) when the row's hash is no longer its source's.
-- p_query_embedding: the query's vector from the active embedder; for the lexical embedder it may be
-- null (computed here). Filters: p_layer, p_source_table, p_agent (exact agent_slug).
create or replace function public.actp_retrieval_search(
  p_query text,
  p_k int default 10,
  p_mode text default 'hybrid',
  p_layer text default null,
  p_source_table text default null,
  p_agent text default null,
  p_query_embedding extensions.vector default null,
  p_full_text_weight float8 default 1.0,
  p_semantic_weight float8 default 1.0,
  p_rrf_k int default 60,
  p_min_similarity float8 default null
)
returns table (
  source_table text, source_id text, score float8, snippet text, stale boolean, path text, heading text, layer text,
  agent_slug text, keyword_rank int, vector_rank int, generation int
)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
declare
  g public.actp_retrieval_generations;
  q tsquery := public.actp_retrieval_tsquery(p_query);
  v_vec extensions.vector := p_query_embedding;
  v_n int := least(greatest(p_k, 1), 200) * 2;
  v_iterative boolean;
  -- Vector hits below this cosine similarity are noise, not matches (and their order among
  -- themselves is arbitrary under an approximate index). Lexical vectors of unrelated texts sit
  -- around 0.0-0.05; a few misspelled words of a long chunk can score under 0.15.
  v_floor float8;
  v_sql text;
  s public.actp_retrieval_sources;
begin
  if not public.actp_can_read() then
    raise exception using errcode = 'P0001', message = 'auth.forbidden: search needs an actp operator or viewer, or the service role';
  end if;
  if p_query is null or btrim(p_query) = '' then
    raise exception using errcode = 'P0001', message = 'memory.invalid_query: the query is empty';
  end if;
  if p_k is null or p_k < 1 or p_k > 100 then
    raise exception using errcode = 'P0001', message = format('memory.invalid_k: k must be between 1 and 100, got %s', p_k);
  end if;
  if p_mode not in ('hybrid', 'keyword', 'vector') then
    raise exception using errcode = 'P0001', message = format('memory.invalid_mode: %L is not hybrid, keyword or vector', p_mode);
  end if;
  select * into g from public.actp_retrieval_generations where state = 'active';
  if not found then
    raise exception using errcode = 'P0001', message = 'memory.index_unavailable: no active retrieval generation';
  end if;
  if v_vec is null and p_mode <> 'keyword' then
    if g.lexical then
      v_vec := public.actp_embed_lexical(p_query, g.dimensions);
    else
      raise exception using errcode = 'P0001', message = format('memory.embedding_required: embedder %s needs the query embedded by the caller', g.embedder);
    end if;
  end if;
  v_floor := coalesce(p_min_similarity, case when g.lexical then 0.05 else 0 end);
  if v_vec is not null and extensions.vector_dims(v_vec) <> g.dimensions then
    raise exception using errcode = 'P0001', message = format('memory.embedding_dimensions: the active embedder %s has %s dimensions, the query vector %s',
      g.embedder, g.dimensions, extensions.vector_dims(v_vec));
  end if;

  -- pgvector 0.8's iterative index scans keep scanning until enough rows pass the filters; older
  -- versions (and some builds) lack them: then a wider candidate list stands in.
  v_iterative := coalesce((select string_to_array(extversion, '.')::int[] >= array[0, 8, 0] from pg_catalog.pg_extension where extname = 'vector'), false);
  if v_iterative then
    perform set_config('hnsw.iterative_scan', 'relaxed_order', true);
    perform set_config('hnsw.ef_search', least(1000, greatest(100, v_n * 5))::text, true);
  else
    perform set_config('hnsw.ef_search', least(1000, greatest(100, v_n * 10))::text, true);
  end if;

  v_sql := format($q$
    with kw as (
      select x.id, row_number() over (order by ts_rank_cd(x.fts, $1) desc, x.source_table, x.source_id)::int as r,
             ts_rank_cd(x.fts, $1)::float8 as s
        from public.actp_retrieval_index x
       where %1$s and x.generation = %2$s and $1 is not null and x.fts @@ $1
         and ($3::text is null or x.layer = $3) and ($4::text is null or x.source_table = $4) and ($5::text is null or x.agent_slug = $5)
       order by r
       limit $6
    ), vc as (
      select v.id, row_number() over (order by v.d, v.source_table, v.source_id)::int as r, 1 - v.d as s
        from (
          select x.id, x.source_table, x.source_id, (x.embedding::extensions.vector(%3$s) operator(extensions.<=>) $2::extensions.vector(%3$s)) as d
            from public.actp_retrieval_index x
           where %4$s and x.generation = %2$s and x.embedded_hash = x.content_hash and x.embedding is not null
             and ($3::text is null or x.layer = $3) and ($4::text is null or x.source_table = $4) and ($5::text is null or x.agent_slug = $5)
           order by x.embedding::extensions.vector(%3$s) operator(extensions.<=>) $2::extensions.vector(%3$s)
           limit $6 + 10
        ) v
       where v.d <= 1 - $12
       order by r
       limit $6
    ), fused as (
      select coalesce(kw.id, vc.id) as id, kw.r as kr, vc.r as vr,
             case $7
               when 'keyword' then kw.s
               when 'vector' then vc.s
               else coalesce($8 / ($10 + kw.r), 0) + coalesce($9 / ($10 + vc.r), 0)
             end as score
        from kw full join vc on kw.id = vc.id
    )
    select x.source_table, x.source_id, f.score,
           case when $1 is null or f.kr is null then left(x.content, 280)
                else ts_headline('english'::regconfig, x.content, $1, 'MaxWords=40, MinWords=15, MaxFragments=1, StartSel="", StopSel=""') end,
           (x.embedded_hash is distinct from x.content_hash
            or public.actp_retrieval_source_hash(x.source_table, x.source_id) is distinct from x.content_hash), x.path, x.heading, x.layer, x.agent_slug, f.kr, f.vr, x.generation
      from fused f join public.actp_retrieval_index x on x.id = f.id
     order by f.score desc, coalesce(f.kr, 2147483647), coalesce(f.vr, 2147483647), x.source_table, x.source_id
     limit $11
  $q$,
    case when p_mode = 'vector' then 'false' else 'true' end, g.id, g.dimensions,
    case when p_mode = 'keyword' or v_vec is null then 'false' else 'true' end);

  return query execute v_sql using q, v_vec, p_layer, p_source_table, p_agent, v_n, p_mode, p_full_text_weight, p_semantic_weight, p_rrf_k::float8, p_k, v_floor;
end
$$;
revoke all on function public.actp_retrieval_search(text, int, text, text, text, text, extensions.vector, float8, float8, int, float8) from public, anon, authenticated;
grant execute on function public.actp_retrieval_search(text, int, text, text, text, text, extensions.vector, float8, float8, int, float8) to service_role, authenticated;

-- Schedules ------------------------------------------------------------------------------------

-- Every minute: embed due rows of inline generations, re-wake queued generations with due rows
-- (retries after backoff, wake-ups lost with a rolled-back pg-boss), attach actp_memory_facts once
-- it exists, and promote a complete filling generation.
create or replace function public.actp_retrieval_tick()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_inline int;
  v_woken int := 0;
  g record;
  v_attached boolean := false;
begin
  if to_regclass('public.actp_memory_facts') is not null
     and not exists (select 1 from public.actp_retrieval_sources where source_table = 'actp_memory_facts') then
    perform public.actp_retrieval_attach_facts();
    v_attached := true;
  end if;
  v_inline := public.actp_retrieval_embed_inline(5000);
  for g in select id from public.actp_retrieval_generations gg
            where gg.embed_mode = 'queue' and gg.state in ('active', 'filling')
              and exists (select 1 from public.actp_retrieval_pending p where p.generation = gg.id and p.not_before <= now()
                            and (p.claimed_until is null or p.claimed_until < now())) loop
    if public.actp_retrieval_wake(g.id) then
      v_woken := v_woken + 1;
    end if;
    perform public.actp_retrieval_promote_if_complete(g.id);
  end loop;
  return jsonb_build_object('embedded_inline', v_inline, 'woken', v_woken, 'attached_facts', v_attached);
end
$$;
revoke all on function public.actp_retrieval_tick() from public, anon, authenticated;
grant execute on function public.actp_retrieval_tick() to service_role;

-- The facts table (the proposal gate's, issue 11) is attached as soon as it exists, whichever
-- migration lands first: here if it is already there, else by the next tick.
create or replace function public.actp_retrieval_attach_facts()
returns int
language plpgsql
security definer
set search_path = ''
as $$
begin
  if to_regclass('public.actp_memory_facts') is null then
    return 0;
  end if;
  return public.actp_retrieval_attach('public.actp_memory_facts'::regclass, p_content_column => 'content', p_layer_column => 'layer',
    p_agent_column => 'agent_slug', p_heading_column => 'key', p_retired_column => 'superseded_at');
end
$$;
revoke all on function public.actp_retrieval_attach_facts() from public, anon, authenticated;
grant execute on function public.actp_retrieval_attach_facts() to service_role;

insert into public.actp_schedules (name, cron_expr, command, description, critical) values
  ('actp:memory:index-tick', '* * * * *', 'select public.actp_retrieval_tick()',
   'Retrieval index (PRD §4.7): embeds due rows in SQL (lexical), re-wakes embedding workers for due retries, promotes a complete re-embed.', false),
  ('actp:memory:index-sweep', '*/15 * * * *', 'select public.actp_retrieval_reconcile(null)',
   'Retrieval index (PRD §4.7): reconciles the index with the canonical stores (missing, stale and orphaned rows of actp_retrieval_status).', false);

-- The default: the offline lexical embedder, active from the start; and actp's own stores attached.
select public.actp_retrieval_begin_generation('actp-lexical-v1', 384, true, 'inline');
select public.actp_retrieval_attach('public.actp_memory_documents'::regclass, p_layer_column => 'layer', p_heading_column => 'heading', p_path_column => 'path');
select public.actp_retrieval_attach('public.actp_memory_conversation_turns'::regclass, p_layer => 'conversation', p_agent_column => 'agent_slug');
select public.actp_retrieval_attach('public.actp_memory_goals'::regclass, p_layer => 'goals', p_agent_column => 'agent_slug');
select public.actp_retrieval_attach_facts();
