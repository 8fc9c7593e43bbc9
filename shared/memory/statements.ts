// Every statement of the memory plane's retrieval side (STYLE.md §7): typed calls of the SQL
// functions in migrations/20261203210000_memory_stores.sql and 20261203210100_retrieval_index.sql.
import type { Queryable } from "../db/types.ts";
import type { IndexStatus, ReindexResult, SearchRequest, SyncSummary, VaultFile } from "./contracts.ts";
import type { EmbedderIdentity } from "./embedders/types.ts";

export interface Generation {
  id: number;
  embedder: string;
  dimensions: number;
  lexical: boolean;
  embed_mode: "inline" | "queue";
  state: "filling" | "active" | "retired";
}

export async function syncVault(db: Queryable, vault: string, files: readonly VaultFile[]): Promise<SyncSummary> {
  const { rows } = await db.query<{ r: SyncSummary }>(`select public.actp_memory_sync_vault($1, $2::jsonb) as r`, [vault, JSON.stringify(files)]);
  return rows[0]!.r;
}

export async function liveGenerations(db: Queryable): Promise<Generation[]> {
  const { rows } = await db.query<Generation>(
    `select id, embedder, dimensions, lexical, embed_mode, state from public.actp_retrieval_generations where state in ('active', 'filling') order by id`,
  );
  return rows;
}

export interface SearchRow {
  source_table: string;
  source_id: string;
  score: number;
  snippet: string;
  stale: boolean;
  path: string | null;
  heading: string | null;
  layer: string;
  agent_slug: string | null;
  keyword_rank: number | null;
  vector_rank: number | null;
  vector_exact: boolean;
}

export async function searchIndex(db: Queryable, req: SearchRequest, queryVector: number[] | null): Promise<SearchRow[]> {
  const { rows } = await db.query<SearchRow>(
    `select source_table, source_id, score, snippet, stale, path, heading, layer, agent_slug, keyword_rank, vector_rank, vector_exact
       from public.actp_retrieval_search($1, $2, $3, $4, $5, $6, $7::extensions.vector, $8, $9, $10, $11, $12)`,
    [
      req.query,
      req.k,
      req.mode,
      req.filters.layer ?? null,
      req.filters.source_table ?? null,
      req.filters.agent ?? null,
      queryVector ? JSON.stringify(queryVector) : null,
      req.weights.keyword,
      req.weights.vector,
      req.rrf_k,
      req.min_similarity ?? null,
      req.exact ?? null,
    ],
  );
  return rows;
}

export async function indexStatus(db: Queryable, source: string | null = null): Promise<IndexStatus> {
  const { rows } = await db.query<{ s: IndexStatus }>(`select public.actp_retrieval_status_counts($1) as s`, [source]);
  return rows[0]!.s;
}

export async function reindexSource(db: Queryable, source: string | null): Promise<ReindexResult> {
  const { rows } = await db.query<{ r: ReindexResult }>(`select public.actp_retrieval_reindex($1) as r`, [source]);
  return rows[0]!.r;
}

export async function beginGeneration(db: Queryable, e: EmbedderIdentity): Promise<ReindexResult> {
  const { rows } = await db.query<{ r: Omit<ReindexResult, "source"> }>(
    `select public.actp_retrieval_begin_generation($1, $2, $3, null) as r`,
    [e.name, e.dimensions, e.lexical],
  );
  return { ...rows[0]!.r, source: null };
}

export interface ClaimedRow {
  source_table: string;
  source_id: string;
  content_hash: string;
  text: string;
}

export async function claimDue(db: Queryable, generation: number, limit: number, leaseSeconds = 120): Promise<ClaimedRow[]> {
  const { rows } = await db.query<ClaimedRow>(`select * from public.actp_retrieval_claim($1, $2, $3)`, [generation, limit, leaseSeconds]);
  return rows;
}

export interface WriteOutcome {
  written: number;
  discarded: number;
  promoted: boolean;
}

export async function writeEmbeddings(
  db: Queryable,
  generation: number,
  items: readonly { source_table: string; source_id: string; content_hash: string; embedding: number[] }[],
): Promise<WriteOutcome> {
  const { rows } = await db.query<{ r: WriteOutcome }>(`select public.actp_retrieval_write_embeddings($1, $2::jsonb) as r`, [generation, JSON.stringify(items)]);
  return rows[0]!.r;
}

export async function releaseClaims(db: Queryable, generation: number, items: readonly ClaimedRow[], error: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select public.actp_retrieval_release($1, $2::jsonb, $3) as n`, [
    generation,
    JSON.stringify(items.map(({ source_table, source_id, content_hash }) => ({ source_table, source_id, content_hash }))),
    error,
  ]);
  return rows[0]!.n;
}

/** The retry/wake schedule's function, for processes that want to run it now. */
export async function tick(db: Queryable): Promise<Record<string, unknown>> {
  const { rows } = await db.query<{ r: Record<string, unknown> }>(`select public.actp_retrieval_tick() as r`);
  return rows[0]!.r;
}
