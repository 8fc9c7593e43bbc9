-- Issue 11, fix forward: a vector side that a rebuild reproduces.
--
-- pgvector's HNSW build draws each element's level from the backend's unseeded random generator
-- (and builds in parallel), so two builds of one generation are two graphs. On near-ties, which a
-- large index of a lexical embedder is full of, they find different neighbours: at 100,000 chunks
-- HNSW's top-10 kept 53 % of its rows across a rebuild, and at ef_search 100 / 400 / 1,000 it held
-- 31 % / 55 % / 66 % of the exact top-10. No build setting seeds it, so "a rebuild gives the same
-- top-10" holds only for an exact vector side.
--
-- An exact scan reads every row of the generation: about 75-200 ms at 100,000 rows of 384
-- dimensions here, so it cannot be the default for a large index under a 50 ms aim. It runs:
--   * when asked (p_exact => true; the API's `exact: true`): reproducible at any size;
--   * by default while the generation holds at most 5,000 embedded rows, where exactness is cheap
--     (every row's vector is read from TOAST: about 6.5 ms per 1,000 rows here);
--   * never when p_exact => false.
-- Ties are broken by (source_table, source_id), which a rebuild keeps (row ids are new uuids).
-- Each row says which ran (vector_exact), and the search answer reports it.
--
-- The keyword side also gains an all-terms pruning: a query of only common words (each in 200 rows
-- or more, so the rare-lexeme pruning has nothing to keep) OR-matched nearly every row of a dense
-- corpus and scored them all: 2.6 s at 100,000 chunks for five common words. When every lexeme
-- weighs at least a tenth of the query, a row holding all of them outranks any row missing one
-- (coverage 1 against at most 0.9 plus a cover-density term under 0.1), so when at least v_n rows
-- hold all of them, matching by all of them gives the same list (13,000 rows scored instead of
-- 99,000 there).
--
-- actp_retrieval_search below is 20261204000000's with only these two changes; its signature
-- gains p_exact, so the old one is dropped (nothing else in SQL calls it).

drop function if exists public.actp_retrieval_search(text, int, text, text, text, text, extensions.vector, float8, float8, int, float8);

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
  p_min_similarity float8 default null,
  p_exact boolean default null
)
returns table (
  source_table text, source_id text, score float8, snippet text, stale boolean, path text, heading text, layer text,
  agent_slug text, keyword_rank int, vector_rank int, generation int, vector_exact boolean
)
language plpgsql
stable
set search_path = ''
as $$
#variable_conflict use_column
declare
  g public.actp_retrieval_generations;
  q tsquery := public.actp_retrieval_tsquery(p_query);
  -- The query's distinct lexemes (one tsquery each), their weights and document frequencies.
  v_terms tsquery[];
  v_weights float8[];
  v_total float8;
  -- What the keyword side matches rows by: q, or only its rarer lexemes when that provably gives
  -- the same list (see below).
  v_match tsquery := q;
  v_rare tsquery;
  v_all tsquery;
  v_cover text := '0';
  v_min_weight float8;
  v_all_rows int;
  v_common_weight float8;
  v_best float8;
  v_enough int;
  v_vec extensions.vector := p_query_embedding;
  v_n int := least(greatest(p_k, 1), 200) * 2;
  v_iterative boolean;
  -- Vector hits below this cosine similarity are noise, not matches (and their order among
  -- themselves is arbitrary under an approximate index). Lexical vectors of unrelated texts sit
  -- around 0.0-0.05; a few misspelled words of a long chunk can score under 0.15.
  v_floor float8;
  v_sql text;
  -- Whether the vector side scans every row (reproducible) or reads the HNSW index.
  v_exact boolean;
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

  -- Counted, not estimated, so the choice is the same after a rebuild: at most 5,001 entries of
  -- the (generation, ...) unique index are read, and only when the HNSW index's own tuple count
  -- (as of its build or last vacuum) does not already say the generation is far larger. The index
  -- is named as actp_retrieval_hnsw_name() names it; that function is the service role's, and
  -- readers (viewers, operators) search too.
  v_exact := p_exact;
  if v_exact is null then
    v_exact := coalesce((select c.reltuples from pg_catalog.pg_class c
                          where c.oid = to_regclass('public.actp_retrieval_index_hnsw_g' || g.id)), 0) <= 10000
           and (select count(*) from (select 1 from public.actp_retrieval_index x where x.generation = g.id limit 5001) c) <= 5000;
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

  -- Keyword weights, as IDF: a lexeme held by df rows of the generation weighs ln(1 + 1e6 / df).
  -- df is counted exactly up to 200 (a GIN lookup that stops there), so weights are a property of
  -- the data (a rebuild gives the same ones), and every lexeme held by 200 rows or more weighs the
  -- same. Without a query lexeme (only stop words) the keyword side is empty.
  if q is not null and p_mode <> 'vector' then
    -- Materialized: each lexeme's count runs once, not once per aggregate that reads it.
    with t as materialized (
      select l.lexeme, quote_literal(l.lexeme)::tsquery as tq,
             (select count(*) from (select 1 from public.actp_retrieval_index x
                                     where x.fts @@ quote_literal(l.lexeme)::tsquery and x.generation = g.id limit 200) c)::int as df
        from unnest(to_tsvector('english'::regconfig, p_query)) l)
    select array_agg(t.tq order by t.lexeme), array_agg(ln(1 + 1e6 / greatest(t.df, 1)) order by t.lexeme),
           sum(ln(1 + 1e6 / greatest(t.df, 1))),
           string_agg(case when t.df < 200 then quote_literal(t.lexeme) end, ' | ' order by t.lexeme)::tsquery,
           sum(ln(1 + 1e6 / greatest(t.df, 1))) filter (where t.df >= 200),
           case when count(*) > 1 then string_agg(quote_literal(t.lexeme), ' & ' order by t.lexeme)::tsquery end,
           min(ln(1 + 1e6 / greatest(t.df, 1)))
      into v_terms, v_weights, v_total, v_rare, v_common_weight, v_all, v_min_weight
      from t;
    -- A row's coverage, inlined as one CASE per lexeme: a per-row unnest-and-sum subquery cost
    -- about 25 us a row, most of a common-word query's time.
    select coalesce(string_agg(format('case when x.fts @@ %L::tsquery then %s::float8 else 0 end', c.tq::text, c.w), ' + '), '0')
      into v_cover
      from unnest(v_terms, v_weights) c(tq, w);
    -- Rows holding none of the rarer lexemes weigh at most v_common_weight. When that cannot make
    -- the list (under half the best row's weight in a fusion; under the v_n-th score in keyword
    -- mode), matching by the rarer lexemes alone gives the same list without reading the
    -- thousands of rows a common lexeme (an "err" of ERR-12345) holds: MaxScore pruning.
    if v_common_weight is not null and v_rare is not null then
      execute format($p$
        select max(w.wc), count(*) filter (where w.wc / $3 + 0.1 * w.cd > $4 / $3 + 0.1)
          from (select %2$s as wc,
                       ts_rank_cd(x.fts, $5, 32)::float8 as cd
                  from public.actp_retrieval_index x
                 where x.generation = %1$s and x.fts @@ $6
                   and ($7::text is null or x.layer = $7) and ($8::text is null or x.source_table = $8) and ($9::text is null or x.agent_slug = $9)) w
      $p$, g.id, v_cover)
        into v_best, v_enough
        using v_terms, v_weights, v_total, v_common_weight, q, v_rare, p_layer, p_source_table, p_agent;
      if (p_mode = 'hybrid' and v_common_weight * 2 < v_best) or (p_mode = 'keyword' and v_enough >= v_n) then
        v_match := v_rare;
      end if;
    end if;
    -- All-terms pruning (see the header): rows holding every lexeme outrank the rest.
    if v_match = q and v_all is not null and v_min_weight >= 0.1 * v_total then
      execute format($p$
        select count(*)::int from (select 1 from public.actp_retrieval_index x
                                    where x.generation = %s and x.fts @@ $1
                                      and ($2::text is null or x.layer = $2) and ($3::text is null or x.source_table = $3) and ($4::text is null or x.agent_slug = $4)
                                    limit $5) c
      $p$, g.id)
        into v_all_rows
        using v_all, p_layer, p_source_table, p_agent, v_n;
      if v_all_rows >= v_n then
        v_match := v_all;
      end if;
    end if;
  end if;

  v_sql := format($q$
    with kw_all as (
      select x.id, x.source_table, x.source_id,
             %6$s as wc,
             ts_rank_cd(x.fts, $1, 32)::float8 as cd
        from public.actp_retrieval_index x
       where %1$s and x.generation = %2$s and $16::tsquery is not null and x.fts @@ $16
         and ($3::text is null or x.layer = $3) and ($4::text is null or x.source_table = $4) and ($5::text is null or x.agent_slug = $5)
    ), kw as (
      -- In a fusion, a row holding under half the term weight the best row holds is a weak match,
      -- and its keyword rank would still add as much as any rank does: it is left out.
      select k.id, row_number() over (order by k.wc / $14 + 0.1 * k.cd desc, k.source_table, k.source_id)::int as r,
             k.wc / $14 + 0.1 * k.cd as s
        from kw_all k
       where $7 <> 'hybrid' or k.wc * 2 >= (select max(k2.wc) from kw_all k2)
       order by r
       limit $6
    ), vc as (
      select v.id, row_number() over (order by v.d, v.source_table, v.source_id)::int as r, 1 - v.d as s
        from (
          select x.id, x.source_table, x.source_id, x.embedded_hash, x.content_hash,
                 (x.embedding::extensions.vector(%3$s) operator(extensions.<=>) $2::extensions.vector(%3$s)) as d
            from public.actp_retrieval_index x
           where %4$s and x.generation = %2$s and x.embedding is not null
             and ($3::text is null or x.layer = $3) and ($4::text is null or x.source_table = $4) and ($5::text is null or x.agent_slug = $5)
             %5$s
           limit $6 + 10
        ) v
       -- A stale vector (not of the row's current text) is dropped here, after the index scan: as a
       -- filter inside it, the planner read "embedded_hash = content_hash" as 0.5%% of rows and
       -- chose an exact scan of the whole table over the HNSW index.
       where v.d <= 1 - $12 and v.embedded_hash = v.content_hash
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
            or public.actp_retrieval_source_hash(x.source_table, x.source_id) is distinct from x.content_hash), x.path, x.heading, x.layer, x.agent_slug, f.kr, f.vr, x.generation, $17
      from fused f join public.actp_retrieval_index x on x.id = f.id
     order by f.score desc, coalesce(f.kr, 2147483647), coalesce(f.vr, 2147483647), x.source_table, x.source_id
     limit $11
  $q$,
    case when p_mode = 'vector' then 'false' else 'true' end, g.id, g.dimensions,
    case when p_mode = 'keyword' or v_vec is null then 'false' else 'true' end,
    -- Exact: "+ 0" keeps the HNSW index out (every row is scored), a stale vector is skipped in the
    -- scan, and ties are broken as a rebuild keeps them. Approximate: the index's order.
    case when v_exact then format(
      'and x.embedded_hash = x.content_hash order by (x.embedding::extensions.vector(%1$s) operator(extensions.<=>) $2::extensions.vector(%1$s)) + 0, x.source_table, x.source_id',
      g.dimensions)
    else format('order by x.embedding::extensions.vector(%1$s) operator(extensions.<=>) $2::extensions.vector(%1$s)', g.dimensions) end,
    v_cover);

  return query execute v_sql using q, v_vec, p_layer, p_source_table, p_agent, v_n, p_mode, p_full_text_weight, p_semantic_weight, p_rrf_k::float8, p_k, v_floor, v_terms, v_total, v_weights, v_match,
    v_exact and p_mode <> 'keyword' and v_vec is not null;
end
$$;
revoke all on function public.actp_retrieval_search(text, int, text, text, text, text, extensions.vector, float8, float8, int, float8, boolean) from public, anon, authenticated;
grant execute on function public.actp_retrieval_search(text, int, text, text, text, text, extensions.vector, float8, float8, int, float8, boolean) to service_role, authenticated;
