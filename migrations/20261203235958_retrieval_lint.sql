-- Fix forward: actp_retrieval_reconcile and actp_retrieval_reindex read rows of a dynamic query into a
-- record that one of them also used for another query's rows, which plpgsql_check (supabase db lint
-- --fail-on error) reports as errors. The rows now go into typed variables; behaviour is unchanged.

create or replace function public.actp_retrieval_reconcile(p_source text default null)
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  s public.actp_retrieval_sources;
  o record;
  v_id text;
  v_content text;
  v_layer text;
  v_agent text;
  v_heading text;
  v_path text;
  v_n int := 0;
begin
  -- Orphans: gone, retired, or of a detached table.
  for o in select distinct st.source_table, st.source_id from public.actp_retrieval_status_rows(p_source) st where st.state = 'orphaned' loop
    perform public.actp_retrieval_forget(o.source_table, o.source_id);
    v_n := v_n + 1;
  end loop;
  -- Missing and stale-against-source rows: project them again (a no-op where only the vector is due).
  for s in select * from public.actp_retrieval_sources where p_source is null or source_table = p_source loop
    for v_id, v_content, v_layer, v_agent, v_heading, v_path in execute format($q$
      select src.source_id::text, src.content::text, src.layer::text, src.agent_slug::text, src.heading::text, src.path::text
        from (%s) src
       where exists (select 1 from public.actp_retrieval_generations g
                      where g.state in ('active', 'filling')
                        and not exists (select 1 from public.actp_retrieval_index x
                                         where x.generation = g.id and x.source_table = %L and x.source_id = src.source_id
                                           and x.content_hash = public.actp_memory_hash(public.actp_retrieval_text(src.heading, src.content))))
    $q$, public.actp_retrieval_source_sql(s), s.source_table) loop
      perform public.actp_retrieval_project(s.source_table, v_id, v_content, v_layer, v_agent, v_heading, v_path);
      v_n := v_n + 1;
    end loop;
  end loop;
  return v_n;
end
$$;
revoke all on function public.actp_retrieval_reconcile(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_reconcile(text) to service_role;

create or replace function public.actp_retrieval_reindex(p_source text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  a public.actp_retrieval_generations;
  s public.actp_retrieval_sources;
  v_id text;
  v_content text;
  v_layer text;
  v_agent text;
  v_heading text;
  v_path text;
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
  for v_id, v_content, v_layer, v_agent, v_heading, v_path in execute format(
    'select src.source_id::text, src.content::text, src.layer::text, src.agent_slug::text, src.heading::text, src.path::text from (%s) src',
    public.actp_retrieval_source_sql(s)) loop
    perform public.actp_retrieval_project(s.source_table, v_id, v_content, v_layer, v_agent, v_heading, v_path);
    v_n := v_n + 1;
  end loop;
  return jsonb_build_object('generation', a.id, 'embedder', a.embedder, 'dimensions', a.dimensions, 'lexical', a.lexical,
    'embed_mode', a.embed_mode, 'source', p_source, 'rows', v_n,
    'pending', (select count(*) from public.actp_retrieval_pending where source_table = p_source), 'state', 'active');
end
$$;
revoke all on function public.actp_retrieval_reindex(text) from public, anon, authenticated;
grant execute on function public.actp_retrieval_reindex(text) to service_role;
