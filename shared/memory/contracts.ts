// Contracts of the memory plane's retrieval side (PRD §3, §4.7): layers, the search request and
// answer, reindex, and the vault sync payload. One zod schema per contract; the SQL functions in
// migrations/20261203210100_retrieval_index.sql enforce the same limits.
import { z } from "zod";
import { AgentSlug } from "../agents/contracts.ts";

/** Named layers (PRD §3: L2 episodic, L3 semantic, L4 procedural; plus conversation and goals). */
export const MEMORY_LAYERS = ["semantic", "procedural", "episodic", "conversation", "goals"] as const;
export const MemoryLayer = z.enum(MEMORY_LAYERS);
export type MemoryLayer = z.infer<typeof MemoryLayer>;

export const MAX_SEARCH_K = 100;
export const SEARCH_MODES = ["hybrid", "keyword", "vector"] as const;

const SourceTable = z.string().regex(/^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/, "a table name like actp_memory_documents");

export const SearchRequest = z.strictObject({
  query: z.string().max(4_000).refine((q) => q.trim().length > 0, "the query is empty"),
  k: z.int().min(1).max(MAX_SEARCH_K).default(10),
  mode: z.enum(SEARCH_MODES).default("hybrid"),
  filters: z
    .strictObject({ layer: MemoryLayer.optional(), source_table: SourceTable.optional(), agent: AgentSlug.optional() })
    .default({}),
  /** Reciprocal rank fusion: score = Σ weight / (rrf_k + rank). */
  weights: z.strictObject({ keyword: z.number().min(0).max(100).default(1), vector: z.number().min(0).max(100).default(1) }).default({ keyword: 1, vector: 1 }),
  rrf_k: z.int().min(1).max(1000).default(60),
  /** Vector hits below this cosine similarity are dropped (default: 0.05 for the lexical embedder, 0 otherwise). */
  min_similarity: z.number().min(-1).max(1).optional(),
  /**
   * The vector side scans every row (true) or reads the HNSW index (false). Exact is what a rebuild
   * reproduces; by default it runs while the index holds at most 10,000 rows.
   */
  exact: z.boolean().optional(),
});
export type SearchRequest = z.infer<typeof SearchRequest>;
export type SearchRequestInput = z.input<typeof SearchRequest>;

export const EmbedderIdentity = z.object({ name: z.string(), dimensions: z.int(), lexical: z.boolean() });
export type EmbedderIdentity = z.infer<typeof EmbedderIdentity>;

export const SearchResult = z.object({
  source_table: z.string(),
  source_id: z.string(),
  score: z.number(),
  snippet: z.string(),
  /** The row's vector is behind its content (it ranked by keywords only), or its source changed since. */
  stale: z.boolean(),
  path: z.string().optional(),
  heading: z.string().optional(),
  layer: MemoryLayer,
  agent_slug: z.string().optional(),
  keyword_rank: z.int().nullable(),
  vector_rank: z.int().nullable(),
});
export type SearchResult = z.infer<typeof SearchResult>;

export const SearchResponse = z.object({
  results: z.array(SearchResult),
  embedder: EmbedderIdentity,
  mode: z.enum(SEARCH_MODES),
  /** How the vector side ran: "exact" ranks are what a rebuild reproduces; "approximate" (HNSW) may differ on near-ties. */
  vector_search: z.enum(["exact", "approximate"]).optional(),
  /** Set when the asked mode could not run as asked (e.g. no query vector): what ran instead and why. */
  degraded: z.string().optional(),
});
export type SearchResponse = z.infer<typeof SearchResponse>;

export const ReindexRequest = z.strictObject({ source: SourceTable.optional() });
export type ReindexRequest = z.infer<typeof ReindexRequest>;

export const ReindexResult = z.object({
  generation: z.int(),
  embedder: z.string(),
  dimensions: z.int(),
  lexical: z.boolean(),
  embed_mode: z.enum(["inline", "queue"]),
  source: z.string().nullable(),
  rows: z.int(),
  pending: z.int(),
  state: z.enum(["active", "filling"]),
});
export type ReindexResult = z.infer<typeof ReindexResult>;

const StateCounts = z.object({ fresh: z.int(), stale: z.int(), missing: z.int(), orphaned: z.int(), pending: z.int() });
export const IndexStatus = z.object({
  active: StateCounts.extend({ generation: z.int(), embedder: EmbedderIdentity, embed_mode: z.string() }).nullable(),
  filling: StateCounts.extend({ generation: z.int(), embedder: EmbedderIdentity, embed_mode: z.string() }).nullable(),
  sources: z.array(z.string()),
});
export type IndexStatus = z.infer<typeof IndexStatus>;

export const VaultName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "a vault name: letters, digits, _ . - (1 to 63)");

export const VaultChunk = z.object({
  anchor: z.string().min(1).max(2000),
  heading: z.string().max(1000),
  heading_path: z.array(z.string()),
  content: z.string().max(100_000),
});
export type VaultChunk = z.infer<typeof VaultChunk>;
export const VaultFile = z.object({ path: z.string().min(1).max(1000), chunks: z.array(VaultChunk) });
export type VaultFile = z.infer<typeof VaultFile>;

export const SyncSummary = z.object({
  vault: z.string(),
  files: z.int(),
  chunks: z.int(),
  inserted: z.int(),
  updated: z.int(),
  deleted: z.int(),
  unchanged: z.int(),
});
export type SyncSummary = z.infer<typeof SyncSummary>;
