// Supabase's built-in gte-small (384 dimensions), available only inside a Supabase edge function:
// `new Supabase.ai.Session('gte-small')`. It cannot run in Node or in tests here; detect it with
// supabaseAiAvailable() and it is chosen by ACTP_EMBEDDER=gte-small (or by default in an edge
// function when nothing else is configured).
import type { Embedder } from "./types.ts";
import { EmbedderError } from "./types.ts";

interface AiSession {
  run(input: string, options: { mean_pool: boolean; normalize: boolean }): Promise<unknown>;
}
type SupabaseGlobal = { ai?: { Session?: new (model: string) => AiSession } };

export function supabaseAiAvailable(): boolean {
  const g = globalThis as unknown as { Supabase?: SupabaseGlobal };
  return typeof g.Supabase?.ai?.Session === "function";
}

export function supabaseGteSmall(): Embedder {
  const g = globalThis as unknown as { Supabase?: SupabaseGlobal };
  const Session = g.Supabase?.ai?.Session;
  if (typeof Session !== "function") {
    throw new EmbedderError("memory.embedder_unavailable", "Supabase.ai.Session is only available inside a Supabase edge function");
  }
  const session = new Session("gte-small");
  return {
    identity: { name: "supabase/gte-small", dimensions: 384, lexical: false },
    async embed(texts) {
      const out: number[][] = [];
      for (const t of texts) {
        const v = await session.run(t, { mean_pool: true, normalize: true });
        const arr = Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : null;
        if (!arr || arr.length !== 384) throw new EmbedderError("memory.embedding_dimensions", "gte-small returned a vector that is not 384 numbers");
        out.push(arr as number[]);
      }
      return out;
    },
  };
}
