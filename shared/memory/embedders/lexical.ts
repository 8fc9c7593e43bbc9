// The offline default: feature-hashed English stems and character trigrams, L2-normalized
// (actp_embed_lexical in SQL). It is lexical, not semantic, and says so (identity.lexical): it
// catches inflections and typos that keyword search misses, not synonyms. SQL is its only
// implementation on purpose: the source triggers embed with it in the writer's transaction, the
// search function embeds the query with it, and this wrapper gives TypeScript the very same vectors.
import type { Queryable } from "../../db/types.ts";
import type { Embedder } from "./types.ts";

export const LEXICAL_EMBEDDER = { name: "actp-lexical-v1", dimensions: 384, lexical: true } as const;

export function lexicalEmbedder(db: Queryable, dimensions: number = LEXICAL_EMBEDDER.dimensions): Embedder {
  return {
    identity: { name: LEXICAL_EMBEDDER.name, dimensions, lexical: true },
    async embed(texts) {
      if (texts.length === 0) return [];
      const { rows } = await db.query<{ v: string | null }>(
        `select public.actp_embed_lexical(t, $2)::text as v from unnest($1::text[]) with ordinality u(t, n) order by n`,
        [texts, dimensions],
      );
      return rows.map((r) => (r.v ? (JSON.parse(r.v) as number[]) : new Array<number>(dimensions).fill(0)));
    },
  };
}
