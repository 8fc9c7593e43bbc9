// memory: the memory plane over HTTPS. The proposal gate and facts routes live in proposals.ts;
// retrieval (PRD §4.7) is here: readers (service role, operators, viewers) search and read the
// index status; rebuilding and embedding are the service role's.
import { z } from "zod";
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { IndexStatus, ReindexRequest, ReindexResult, SearchRequest, SearchResponse } from "../../shared/memory/contracts.ts";
import { embedderFromEnv } from "../../shared/memory/embedders/index.ts";
import { drainEmbeddings } from "../../shared/memory/embed-work.ts";
import { searchMemory } from "../../shared/memory/search.ts";
import { beginGeneration, indexStatus, reindexSource } from "../../shared/memory/statements.ts";
import { mountProposalRoutes } from "./proposals.ts";

export const app = createFunctionApp("memory", {
  title: "actp memory",
  description:
    "The memory plane: proposals for semantic and procedural memory pass the gate (critic score and source authority) before they become facts; " +
    "facts are bitemporal, one current fact per key, older ones kept. The retrieval index (hybrid keyword + vector search) projects every canonical store.",
});

mountProposalRoutes(app);

const tags = ["memory retrieval"];
const StatusQuery = z.strictObject({ source: ReindexRequest.shape.source });
const EmbedRequest = z.strictObject({ max_batches: z.int().min(1).max(100).default(10), batch_size: z.int().min(1).max(256).default(64) });
const EmbedResult = z.object({ generations: z.array(z.int()), claimed: z.int(), written: z.int(), discarded: z.int(), failed: z.int(), promoted: z.boolean() });

route(
  app,
  {
    method: "post",
    path: "/search",
    summary: "Hybrid search of the retrieval index",
    description: "Keyword (full text, ts_rank_cd) and vector (cosine) rankings fused by reciprocal rank fusion; filters by layer, source table and agent. A row whose vector is behind its content ranks by keywords only and says stale.",
    access: "reader",
    body: SearchRequest,
    responses: { 200: { description: "results and the embedder that ranked them", schema: SearchResponse } },
    errors: ["memory.index_unavailable", "memory.embedding_required"],
    tags,
  },
  async (c, { body }) => {
    const db = runtime().db;
    const embedder = embedderFromEnv(db);
    return c.json(await db.asRole(c.get("claims"), (tx) => searchMemory(tx, embedder, body)));
  },
);

route(
  app,
  {
    method: "get",
    path: "/index/status",
    summary: "Counts of fresh, stale, missing and orphaned index rows",
    access: "reader",
    query: StatusQuery,
    invalid: { query: "memory.invalid_query" },
    responses: { 200: { description: "per live generation", schema: IndexStatus } },
    tags,
  },
  async (c, { query }) => c.json(await runtime().db.asRole(c.get("claims"), (tx) => indexStatus(tx, query.source ?? null))),
);

route(
  app,
  {
    method: "post",
    path: "/reindex",
    summary: "Rebuild the index from the canonical stores",
    description: "All sources: a new generation with this deployment's embedder, filled beside the live one and switched in when complete (202 while filling). One source: rebuilt in place.",
    access: "service_role",
    body: ReindexRequest,
    bodyOptional: true,
    responses: { 200: { description: "rebuilt and live", schema: ReindexResult }, 202: { description: "filling; switched in when embedded", schema: ReindexResult } },
    errors: ["memory.source_not_found", "memory.index_unavailable"],
    tags,
  },
  async (c, { body }) => {
    const db = runtime().db;
    const embedder = embedderFromEnv(db);
    const result = await db.asRole(c.get("claims"), (tx) => (body.source ? reindexSource(tx, body.source) : beginGeneration(tx, embedder.identity)));
    return c.json(result, result.state === "active" ? 200 : 202);
  },
);

route(
  app,
  {
    method: "post",
    path: "/index/embed",
    summary: "Embed due rows with this deployment's embedder",
    description: "What the worker's actp.memory.embed queue does; how gte-small runs inside a Supabase edge function (e.g. called by pg_cron with pg_net).",
    access: "service_role",
    body: EmbedRequest,
    bodyOptional: true,
    responses: { 200: { description: "what was embedded", schema: EmbedResult } },
    errors: ["memory.embedder_failed"],
    tags,
  },
  async (_c, { body }) => {
    const db = runtime().db;
    return _c.json(await drainEmbeddings(db, embedderFromEnv(db), { maxBatches: body.max_batches, batchSize: body.batch_size }));
  },
);
