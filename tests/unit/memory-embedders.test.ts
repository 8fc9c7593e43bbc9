// The OpenAI-compatible embedder against a real HTTP server on loopback; the environment switch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embedderFromEnv, openAICompatibleEmbedder, supabaseAiAvailable, supabaseGteSmall } from "../../shared/memory/embedders/index.ts";
import { FakeEmbeddings } from "../support/fake-embeddings.ts";

let fake: FakeEmbeddings;
beforeAll(async () => {
  fake = await FakeEmbeddings.start(32);
});
afterAll(async () => {
  await fake.stop();
});

const noDb = { query: async () => ({ rows: [], rowCount: 0 }) };

describe("openAICompatibleEmbedder", () => {
  it("batches inputs, sends model, dimensions and key, and keeps order", async () => {
    const e = openAICompatibleEmbedder({ baseURL: `${fake.url}/`, model: "m1", dimensions: 32, apiKey: "sk-1", batchSize: 2 });
    const texts = ["a b", "c", "d e f", "g", "h"];
    const v = await e.embed(texts);
    expect(v).toHaveLength(5);
    expect(v.every((x) => x.length === 32)).toBe(true);
    expect(fake.requests.slice(-3).map((r) => r.inputs)).toEqual([["a b", "c"], ["d e f", "g"], ["h"]]);
    expect(fake.requests.at(-1)).toMatchObject({ model: "m1", authorization: "Bearer sk-1" });
    expect(e.identity).toEqual({ name: "openai-compatible:m1", dimensions: 32, lexical: false });
  });

  it("refuses vectors of the wrong size and reports upstream errors without the key", async () => {
    const wrong = openAICompatibleEmbedder({ baseURL: fake.url, model: "m1", dimensions: 16, sendDimensions: false });
    await expect(wrong.embed(["x"])).rejects.toMatchObject({ code: "memory.embedding_dimensions" });
    fake.failNext = { status: 429, remaining: 1 };
    const e = openAICompatibleEmbedder({ baseURL: fake.url, model: "m1", dimensions: 32, apiKey: "sk-secret" });
    const err = (await e.embed(["x"]).then(() => null, (x: unknown) => x)) as Error & { code: string };
    expect(err).toMatchObject({ code: "memory.embedder_failed" });
    expect(String(err.message)).toContain("429");
    expect(String(err.message)).not.toContain("sk-secret");
  });
});

describe("embedderFromEnv", () => {
  it("defaults to the lexical embedder and configures the HTTP one from variables", () => {
    expect(embedderFromEnv(noDb, () => undefined).identity).toEqual({ name: "actp-lexical-v1", dimensions: 384, lexical: true });
    expect(embedderFromEnv(noDb, (k) => ({ ACTP_EMBEDDINGS_DIMENSIONS: "1024" })[k]).identity).toEqual({ name: "actp-lexical-v1", dimensions: 1024, lexical: true });
    expect(() => embedderFromEnv(noDb, (k) => ({ ACTP_EMBEDDER: "lexical", ACTP_EMBEDDINGS_DIMENSIONS: "9000" })[k])).toThrow(/16\.\.2000/);
    const vars: Record<string, string> = { ACTP_EMBEDDER: "openai", ACTP_EMBEDDINGS_BASE_URL: fake.url, ACTP_EMBEDDINGS_MODEL: "text-embedding-3-small", ACTP_EMBEDDINGS_DIMENSIONS: "512" };
    expect(embedderFromEnv(noDb, (k) => vars[k]).identity).toEqual({ name: "openai-compatible:text-embedding-3-small", dimensions: 512, lexical: false });
    expect(() => embedderFromEnv(noDb, (k) => ({ ACTP_EMBEDDER: "openai" })[k])).toThrow(/ACTP_EMBEDDINGS_MODEL/);
    expect(() => embedderFromEnv(noDb, (k) => ({ ACTP_EMBEDDER: "word2vec" })[k])).toThrow(/expected lexical/);
  });

  it("knows gte-small exists only inside a Supabase edge function", () => {
    expect(supabaseAiAvailable()).toBe(false);
    expect(() => supabaseGteSmall()).toThrow(/only available inside a Supabase edge function/);
  });
});
