// Any OpenAI-compatible embeddings endpoint (OpenAI, Azure's v1 surface, vLLM, Ollama, LiteLLM, TEI's
// OpenAI route): POST {baseURL}/embeddings with { model, input, dimensions }. The dimension is
// configured, sent (models that can shorten their output honour it) and checked on every answer.
import type { Embedder } from "./types.ts";
import { EmbedderError } from "./types.ts";

export interface OpenAICompatibleOptions {
  baseURL: string;
  model: string;
  dimensions: number;
  apiKey?: string | null;
  /** Send `dimensions` in the request (default true; some servers reject the field). */
  sendDimensions?: boolean;
  /** Texts per request (default 96). */
  batchSize?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface EmbeddingsAnswer {
  data?: { index?: number; embedding?: unknown }[];
}

export function openAICompatibleEmbedder(o: OpenAICompatibleOptions): Embedder {
  const url = `${o.baseURL.replace(/\/+$/, "")}/embeddings`;
  const doFetch = o.fetch ?? fetch;
  const batch = Math.max(1, o.batchSize ?? 96);
  const call = async (input: readonly string[], signal?: AbortSignal): Promise<number[][]> => {
    const timeout = AbortSignal.timeout(o.timeoutMs ?? 60_000);
    const res = await doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
      body: JSON.stringify({ model: o.model, input, encoding_format: "float", ...(o.sendDimensions === false ? {} : { dimensions: o.dimensions }) }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (!res.ok) {
      // The body may echo the request; keep only its first line, never headers (the key).
      const text = (await res.text().catch(() => "")).split("\n")[0]!.slice(0, 300);
      throw new EmbedderError("memory.embedder_failed", `embeddings endpoint answered ${res.status}: ${text}`);
    }
    const body = (await res.json()) as EmbeddingsAnswer;
    const data = Array.isArray(body.data) ? body.data : [];
    if (data.length !== input.length) {
      throw new EmbedderError("memory.embedder_failed", `embeddings endpoint returned ${data.length} vectors for ${input.length} inputs`);
    }
    const out: number[][] = new Array(input.length);
    data.forEach((d, i) => {
      const v = d.embedding;
      if (!Array.isArray(v) || v.length !== o.dimensions || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
        throw new EmbedderError("memory.embedding_dimensions", `model ${o.model} returned a vector that is not ${o.dimensions} finite numbers`);
      }
      out[typeof d.index === "number" ? d.index : i] = v as number[];
    });
    return out;
  };
  return {
    identity: { name: `openai-compatible:${o.model}`, dimensions: o.dimensions, lexical: false },
    async embed(texts, signal) {
      const out: number[][] = [];
      for (let i = 0; i < texts.length; i += batch) out.push(...(await call(texts.slice(i, i + batch), signal)));
      return out;
    },
  };
}
