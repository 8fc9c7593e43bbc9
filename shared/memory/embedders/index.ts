// The embedder a process uses, from its environment:
//   ACTP_EMBEDDER=lexical (default) | openai | gte-small
//   lexical: ACTP_EMBEDDINGS_DIMENSIONS (default 384; more dimensions, fewer hash collisions, more
//            storage per row; in the memory bench 1,024 did not improve recall at 100,000 chunks)
//   openai: ACTP_EMBEDDINGS_BASE_URL (default https://api.openai.com/v1), ACTP_EMBEDDINGS_MODEL,
//           ACTP_EMBEDDINGS_DIMENSIONS, ACTP_EMBEDDINGS_API_KEY (or OPENAI_API_KEY)
// Changing it and calling reindex fills a new index generation with it beside the current one and
// switches over once it is complete (see actp_retrieval_begin_generation).
import type { Queryable } from "../../db/types.ts";
import { env } from "../../env.ts";
import { lexicalEmbedder } from "./lexical.ts";
import { openAICompatibleEmbedder } from "./openai.ts";
import { supabaseAiAvailable, supabaseGteSmall } from "./supabase-gte.ts";
import { EmbedderError, type Embedder } from "./types.ts";

export { lexicalEmbedder, LEXICAL_EMBEDDER } from "./lexical.ts";
export { openAICompatibleEmbedder, type OpenAICompatibleOptions } from "./openai.ts";
export { supabaseAiAvailable, supabaseGteSmall } from "./supabase-gte.ts";
export { EmbedderError, type Embedder, type EmbedderIdentity } from "./types.ts";

export function embedderFromEnv(db: Queryable, read: (k: string) => string | undefined = env): Embedder {
  const kind = (read("ACTP_EMBEDDER") ?? "").trim().toLowerCase();
  if (kind === "openai" || kind === "openai-compatible") {
    const model = read("ACTP_EMBEDDINGS_MODEL")?.trim();
    const dims = Number(read("ACTP_EMBEDDINGS_DIMENSIONS"));
    if (!model || !Number.isInteger(dims) || dims < 1 || dims > 2000) {
      throw new EmbedderError("memory.embedder_config", "ACTP_EMBEDDER=openai needs ACTP_EMBEDDINGS_MODEL and ACTP_EMBEDDINGS_DIMENSIONS (1..2000)");
    }
    return openAICompatibleEmbedder({
      baseURL: read("ACTP_EMBEDDINGS_BASE_URL")?.trim() || "https://api.openai.com/v1",
      model,
      dimensions: dims,
      apiKey: read("ACTP_EMBEDDINGS_API_KEY")?.trim() || read("OPENAI_API_KEY")?.trim() || null,
    });
  }
  if (kind === "gte-small" || (kind === "" && supabaseAiAvailable())) return supabaseGteSmall();
  if (kind === "" || kind === "lexical") {
    const raw = read("ACTP_EMBEDDINGS_DIMENSIONS")?.trim();
    if (!raw) return lexicalEmbedder(db);
    const dims = Number(raw);
    if (!Number.isInteger(dims) || dims < 16 || dims > 2000) {
      throw new EmbedderError("memory.embedder_config", `ACTP_EMBEDDINGS_DIMENSIONS=${raw}: the lexical embedder takes 16..2000`);
    }
    return lexicalEmbedder(db, dims);
  }
  throw new EmbedderError("memory.embedder_config", `ACTP_EMBEDDER=${kind}: expected lexical, openai or gte-small`);
}
