-- Canonical memory stores (PRD §3, issue 11 item 1) that the retrieval index (§4.7) projects and the
-- context assembler (§4.17) reads: vault documents (a markdown folder mirrored by `actp memory sync`),
-- conversation turns and active goals. Episodic memory is actp_events; semantic and procedural facts
-- are actp_memory_facts (the proposal gate's table).
--
-- Layers are named, not numbered (§3 numbers L3 semantic and L4 procedural, §4.8's comment 1 and 4):
-- 'semantic' | 'procedural' | 'episodic' | 'conversation' | 'goals'.

create or replace function public.actp_memory_layers()
returns text[]
language sql
immutable
set search_path = ''
as $$ select array['semantic', 'procedural', 'episodic', 'conversation', 'goals'] $$;
revoke all on function public.actp_memory_layers() from public, anon, authenticated;
grant execute on function public.actp_memory_layers() to service_role;

-- Vault documents ------------------------------------------------------------------------------

-- One row per chunk of a markdown file: a section under its heading, split at paragraph boundaries
-- when long. `anchor` (heading path + occurrence + part) is the chunk's stable identity inside the
-- file, so inserting a section above another renumbers `chunk` without touching the other's content
-- (and without re-embedding it).
create table public.actp_memory_documents (
  id uuid primary key default gen_random_uuid(),
  vault text not null check (vault ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
  path text not null check (
    length(path) between 1 and 1000 and path ~ '\.md$' and path !~ '^/' and path !~ '(^|/)\.\.(/|$)' and path !~ '\\'
  ),
  anchor text not null check (length(anchor) between 1 and 2000),
  chunk int not null check (chunk >= 0),
  layer text not null check (layer = any (public.actp_memory_layers())),
  heading text not null default '' check (length(heading) <= 1000),
  heading_path text[] not null default '{}',
  content text not null check (length(content) <= 100000),
  content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
  synced_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  unique (vault, path, anchor)
);
create index actp_memory_documents_order_idx on public.actp_memory_documents (vault, path, chunk);
comment on table public.actp_memory_documents is
  'Vault documents (PRD §3/§4.7): markdown chunked by heading, mirrored from a folder by `actp memory sync`; canonical, indexed by actp_retrieval_index.';
select public.actp_secure_table('actp_memory_documents', 'read');

-- The layer a vault file feeds (PRD §4.7's table): the knowledge graph is semantic, daily notes are
-- episodic, tacit knowledge is procedural; any other note is semantic.
create or replace function public.actp_memory_document_layer(p_path text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_path ~* '(^|/)DAILY-NOTES/' then 'episodic'
    when p_path ~* '(^|/)TACIT-KNOWLEDGE\.md$' then 'procedural'
    else 'semantic'
  end
$$;
revoke all on function public.actp_memory_document_layer(text) from public, anon, authenticated;
grant execute on function public.actp_memory_document_layer(text) to service_role;

-- Whitespace-normalized SHA-256: a reflowed paragraph or trailing spaces hash the same, so they
-- neither count as a change nor re-embed anything.
create or replace function public.actp_memory_hash(p_text text)
returns text
language sql
immutable
strict
parallel safe
set search_path = ''
as $$ select encode(sha256(convert_to(regexp_replace(btrim(p_text), '\s+', ' ', 'g'), 'UTF8')), 'hex') $$;
revoke all on function public.actp_memory_hash(text) from public, anon, authenticated;
grant execute on function public.actp_memory_hash(text) to service_role;

-- The chunks of a sync payload as rows (chunk = position in its file).
create or replace function public.actp_memory_sync_rows(p_files jsonb)
returns table (path text, anchor text, chunk int, heading text, heading_path text[], content text, content_hash text)
language sql
immutable
set search_path = ''
as $$
  select f ->> 'path', c.value ->> 'anchor', (c.ordinality - 1)::int, coalesce(c.value ->> 'heading', ''),
         coalesce(array(select jsonb_array_elements_text(c.value -> 'heading_path')), '{}'),
         c.value ->> 'content', public.actp_memory_hash(c.value ->> 'content')
    from jsonb_array_elements(p_files) f
    cross join lateral jsonb_array_elements(coalesce(f -> 'chunks', '[]'::jsonb)) with ordinality c
$$;
revoke all on function public.actp_memory_sync_rows(jsonb) from public, anon, authenticated;
grant execute on function public.actp_memory_sync_rows(jsonb) to service_role;

-- Mirrors one vault: p_files is every file now in the folder as
--   [{ "path": "DAILY-NOTES/2026-12-01.md", "chunks": [{ "anchor", "heading", "heading_path": [..], "content" }, ...] }]
-- In one transaction it inserts new chunks, updates changed ones (content, heading, position), and
-- deletes chunks and files that are gone. A chunk whose normalized content, heading and position are
-- unchanged is not written at all, so a second sync of an unchanged folder writes nothing.
create or replace function public.actp_memory_sync_vault(p_vault text, p_files jsonb)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_inserted int := 0;
  v_updated int := 0;
  v_deleted int := 0;
  v_unchanged int := 0;
  v_total int := 0;
begin
  if p_vault is null or p_vault !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' then
    raise exception using errcode = 'P0001', message = format('memory.invalid_vault: vault name %L: letters, digits, _ . - (1 to 63)', p_vault);
  end if;
  if jsonb_typeof(p_files) is distinct from 'array' then
    raise exception using errcode = 'P0001', message = 'memory.invalid_files: files must be a JSON array';
  end if;
  -- Two syncs of one vault at once would each delete the other's new rows: one at a time.
  perform pg_advisory_xact_lock(hashtextextended('actp.memory.sync:' || p_vault, 0));

  select count(*) into v_total from public.actp_memory_sync_rows(p_files);

  if exists (select 1 from public.actp_memory_sync_rows(p_files) where path is null or anchor is null or content is null) then
    raise exception using errcode = 'P0001', message = 'memory.invalid_files: every chunk needs a path, an anchor and content';
  end if;
  if exists (select 1 from public.actp_memory_sync_rows(p_files) group by path, anchor having count(*) > 1) then
    raise exception using errcode = 'P0001', message = 'memory.invalid_files: two chunks of one file share an anchor';
  end if;

  with i as materialized (select * from public.actp_memory_sync_rows(p_files))
  delete from public.actp_memory_documents d
   where d.vault = p_vault
     and not exists (select 1 from i where i.path = d.path and i.anchor = d.anchor);
  get diagnostics v_deleted = row_count;

  with i as materialized (select * from public.actp_memory_sync_rows(p_files))
  update public.actp_memory_documents d
     set content = i.content, content_hash = i.content_hash, chunk = i.chunk, heading = i.heading,
         heading_path = i.heading_path, layer = public.actp_memory_document_layer(i.path), synced_at = now()
    from i
   where d.vault = p_vault and d.path = i.path and d.anchor = i.anchor
     and (d.content_hash <> i.content_hash or d.chunk <> i.chunk or d.heading <> i.heading or d.heading_path <> i.heading_path);
  get diagnostics v_updated = row_count;

  with i as materialized (select * from public.actp_memory_sync_rows(p_files))
  insert into public.actp_memory_documents (vault, path, anchor, chunk, layer, heading, heading_path, content, content_hash)
  select p_vault, i.path, i.anchor, i.chunk, public.actp_memory_document_layer(i.path), i.heading, i.heading_path, i.content, i.content_hash
    from i
   where not exists (select 1 from public.actp_memory_documents d where d.vault = p_vault and d.path = i.path and d.anchor = i.anchor);
  get diagnostics v_inserted = row_count;

  v_unchanged := v_total - v_inserted - v_updated;
  return jsonb_build_object('vault', p_vault, 'files', jsonb_array_length(p_files), 'chunks', v_total,
    'inserted', v_inserted, 'updated', v_updated, 'deleted', v_deleted, 'unchanged', v_unchanged);
end
$$;
revoke all on function public.actp_memory_sync_vault(text, jsonb) from public, anon, authenticated;
grant execute on function public.actp_memory_sync_vault(text, jsonb) to service_role;

-- Conversations (PRD-014's store, minimal) ------------------------------------------------------

create table public.actp_memory_conversations (
  id text primary key check (length(id) between 1 and 200),
  user_id text check (length(user_id) between 1 and 200),
  agent_slug text check (agent_slug ~ '^[a-z][a-z0-9_-]{0,62}$'),
  -- The running summary of turns older than the ones the assembler reads.
  summary text check (length(summary) <= 100000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index actp_memory_conversations_user_idx on public.actp_memory_conversations (user_id, agent_slug, updated_at desc);
comment on table public.actp_memory_conversations is 'Conversation memory (PRD-014, minimal): one row per conversation with its running summary.';
select public.actp_secure_table('actp_memory_conversations', 'read');

create table public.actp_memory_conversation_turns (
  id uuid primary key default gen_random_uuid(),
  conversation_id text not null references public.actp_memory_conversations (id) on delete cascade,
  seq int not null check (seq >= 0),
  role text not null check (role in ('user', 'assistant', 'system', 'tool')),
  content text not null check (length(content) <= 200000),
  -- A tool_use turn and its tool_result share this id; the assembler keeps or drops them together.
  tool_use_id text check (length(tool_use_id) between 1 and 200),
  agent_slug text check (agent_slug ~ '^[a-z][a-z0-9_-]{0,62}$'),
  job_id uuid,
  created_at timestamptz not null default now(),
  unique (conversation_id, seq)
);
comment on table public.actp_memory_conversation_turns is 'Conversation turns (PRD-014, minimal), in order (seq) within a conversation; indexed by actp_retrieval_index.';
select public.actp_secure_table('actp_memory_conversation_turns', 'read');

create or replace function public.actp_memory_conversations_touch()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.actp_memory_conversations set updated_at = now() where id = new.conversation_id;
  return null;
end
$$;
create trigger tg_actp_memory_conversation_turns__touch
  after insert on public.actp_memory_conversation_turns
  for each row execute function public.actp_memory_conversations_touch();

-- Goals (PRD-016's objectives, minimal) --------------------------------------------------------

create table public.actp_memory_goals (
  id uuid primary key default gen_random_uuid(),
  agent_slug text check (agent_slug ~ '^[a-z][a-z0-9_-]{0,62}$'),
  user_id text check (length(user_id) between 1 and 200),
  parent_id uuid references public.actp_memory_goals (id) on delete set null,
  title text not null check (length(btrim(title)) between 1 and 500),
  description text not null default '' check (length(description) <= 20000),
  status text not null default 'active' check (status in ('active', 'paused', 'done', 'dropped')),
  priority int not null default 0 check (priority between -100 and 100),
  due_at timestamptz,
  -- What the retrieval index embeds: title and description together.
  content text generated always as (title || E'\n' || description) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index actp_memory_goals_active_idx on public.actp_memory_goals (agent_slug, priority desc, created_at) where status = 'active';
comment on table public.actp_memory_goals is 'Goals (PRD-016 objectives, minimal): the active ones feed the context assembler''s goals layer.';
select public.actp_secure_table('actp_memory_goals', 'read');
