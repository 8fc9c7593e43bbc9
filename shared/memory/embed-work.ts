// Drains due embeddings of the generation(s) this process's embedder serves: claim a batch (leased,
// skip-locked), embed it, write it back conditionally (a row that changed meanwhile is discarded,
// its newer hash stays due), release it with a backoff on failure. Runs in the Node worker (pg-boss
// queue actp.memory.embed), the CLI and the memory function (for gte-small inside Supabase).
import type { Database } from "../db/types.ts";
import type { Embedder } from "./embedders/types.ts";
import { claimDue, liveGenerations, releaseClaims, writeEmbeddings, type Generation } from "./statements.ts";

export const EMBED_QUEUE = "actp.memory.embed";

export interface DrainOptions {
  /** Only this generation (a wake-up job names one). */
  generation?: number;
  batchSize?: number;
  /** Stop after this many batches (default: until nothing is due). */
  maxBatches?: number;
  signal?: AbortSignal;
}

export interface DrainResult {
  generations: number[];
  claimed: number;
  written: number;
  discarded: number;
  failed: number;
  promoted: boolean;
}

const serves = (e: Embedder, g: Generation) =>
  g.embed_mode === "queue" && g.embedder === e.identity.name && g.dimensions === e.identity.dimensions;

export async function drainEmbeddings(db: Database, embedder: Embedder, o: DrainOptions = {}): Promise<DrainResult> {
  const out: DrainResult = { generations: [], claimed: 0, written: 0, discarded: 0, failed: 0, promoted: false };
  const gens = (await liveGenerations(db)).filter((g) => serves(embedder, g) && (o.generation === undefined || g.id === o.generation));
  const batchSize = o.batchSize ?? 64;
  for (const g of gens) {
    out.generations.push(g.id);
    for (let n = 0; o.maxBatches === undefined || n < o.maxBatches; n++) {
      if (o.signal?.aborted) return out;
      const claimed = await claimDue(db, g.id, batchSize);
      if (claimed.length === 0) break;
      out.claimed += claimed.length;
      let vectors: number[][];
      try {
        vectors = await embedder.embed(claimed.map((c) => c.text), o.signal);
      } catch (err) {
        out.failed += claimed.length;
        await releaseClaims(db, g.id, claimed, err instanceof Error ? err.message : String(err));
        break; // back off: the rows are due again after their delay (the tick re-wakes the queue)
      }
      const w = await writeEmbeddings(
        db,
        g.id,
        claimed.map((c, i) => ({ source_table: c.source_table, source_id: c.source_id, content_hash: c.content_hash, embedding: vectors[i]! })),
      );
      out.written += w.written;
      out.discarded += w.discarded;
      out.promoted ||= w.promoted;
    }
  }
  return out;
}
