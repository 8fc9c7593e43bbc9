// Search over the active generation of the retrieval index. The query is embedded with that
// generation's embedder: in SQL for the lexical one, here for a remote one when this process is
// configured with it; if it is not (mid-switch, or a misconfigured caller), the search runs on
// keywords alone and says so in `degraded`, rather than comparing vectors of two different models.
import type { Queryable } from "../db/types.ts";
import { badRequest } from "../errors.ts";
import { SearchRequest, type SearchRequestInput, type SearchResponse, type SearchResult, type MemoryLayer } from "./contracts.ts";
import type { Embedder } from "./embedders/types.ts";
import { liveGenerations, searchIndex } from "./statements.ts";

export async function searchMemory(db: Queryable, embedder: Embedder | null, input: SearchRequestInput): Promise<SearchResponse> {
  const parsed = SearchRequest.safeParse(input);
  if (!parsed.success) {
    throw badRequest("memory.invalid_search", "search request does not match the contract", parsed.error.issues.map((i) => ({ path: i.path, message: i.message })));
  }
  const req = parsed.data;
  const active = (await liveGenerations(db)).find((g) => g.state === "active");
  if (!active) throw badRequest("memory.index_unavailable", "no active retrieval generation");
  let vector: number[] | null = null;
  let degraded: string | undefined;
  let mode = req.mode;
  if (mode !== "keyword" && !active.lexical) {
    if (embedder && embedder.identity.name === active.embedder && embedder.identity.dimensions === active.dimensions) {
      vector = (await embedder.embed([req.query]))[0] ?? null;
    } else {
      degraded = `the active index generation is embedded with ${active.embedder}, which this process is not configured with: keyword search only`;
      mode = "keyword";
    }
  }
  const rows = await searchIndex(db, { ...req, mode }, vector ?? null);
  const results: SearchResult[] = rows.map((r) => ({
    source_table: r.source_table,
    source_id: r.source_id,
    score: Number(r.score),
    snippet: r.snippet,
    stale: r.stale,
    ...(r.path ? { path: r.path } : {}),
    ...(r.heading ? { heading: r.heading } : {}),
    layer: r.layer as MemoryLayer,
    ...(r.agent_slug ? { agent_slug: r.agent_slug } : {}),
    keyword_rank: r.keyword_rank,
    vector_rank: r.vector_rank,
  }));
  return {
    results,
    embedder: { name: active.embedder, dimensions: active.dimensions, lexical: active.lexical },
    mode,
    ...(mode !== "keyword" && rows.length > 0 ? { vector_search: rows[0]!.vector_exact ? ("exact" as const) : ("approximate" as const) } : {}),
    ...(degraded ? { degraded } : {}),
  };
}
