import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../functions/memory/app.ts";
import { signApiKey } from "../../shared/auth/jwt.ts";
import { syncVault } from "../../shared/memory/statements.ts";
import { chunkMarkdown } from "../../shared/memory/markdown.ts";
import { functionHarness, type FunctionHarness } from "../support/functions.ts";

let h: FunctionHarness;
const tokens: Record<string, string> = {};
const vault = `fn${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  h = await functionHarness();
  const sub = randomUUID();
  tokens.user = await signApiKey(h.keys.jwtSecret, "authenticated", { sub });
  tokens.viewer = await signApiKey(h.keys.jwtSecret, "authenticated", { sub, app_metadata: { actp_role: "viewer" } });
  tokens.operator = await signApiKey(h.keys.jwtSecret, "authenticated", { sub, app_metadata: { actp_role: "operator" } });
  await syncVault(h.db, vault, [
    { path: "KNOWLEDGE-GRAPH.md", chunks: chunkMarkdown("# Billing\n\n## Refunds\nRefund code RF-20931 applies to duplicate charges.\n") },
    { path: "DAILY-NOTES/2026-12-02.md", chunks: chunkMarkdown("# Tuesday\nMigrated the invoicing service to the new queue.\n") },
  ]);
});
afterAll(async () => {
  await h.db.end();
});

type Who = "service_role" | "viewer" | "operator" | "user" | "anon";
const auth = (who: Who) => `Bearer ${who === "service_role" ? h.keys.serviceRoleKey : who === "anon" ? h.keys.anonKey : tokens[who]}`;
const post = (path: string, body: unknown, who: Who = "service_role") =>
  app.request(`/memory${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: auth(who) }, body: JSON.stringify(body) });

describe("POST /memory/search", () => {
  it("answers results with path and heading for vault documents, and the embedder's identity", async () => {
    const r = await post("/search", { query: "RF-20931", k: 3 }, "viewer");
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.embedder).toEqual({ name: "actp-lexical-v1", dimensions: 384, lexical: true });
    expect(body.results[0]).toMatchObject({ source_table: "actp_memory_documents", path: "KNOWLEDGE-GRAPH.md", heading: "Refunds", stale: false });
    expect(body.results[0].snippet).toContain("RF-20931");
    expect(typeof body.results[0].score).toBe("number");
  });

  it("filters by layer and runs each mode", async () => {
    for (const mode of ["hybrid", "keyword", "vector"]) {
      const r = await post("/search", { query: "invoicing queue", mode, filters: { layer: "episodic", source_table: "actp_memory_documents" } }, "operator");
      expect(r.status).toBe(200);
      const body = await r.json();
      expect(body.mode).toBe(mode);
      expect(body.results.map((x: { path: string }) => x.path)).toEqual(["DAILY-NOTES/2026-12-02.md"]);
    }
  });

  it("refuses bad input with 400 and callers without an actp role with 403", async () => {
    for (const body of [{ query: "" }, { query: "   " }, { query: "x", k: 101 }, { query: "x", k: 0 }, { query: "x", mode: "fuzzy" }, { query: "x", filters: { layer: "L3" } }, { q: "x" }]) {
      const r = await post("/search", body, "viewer");
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((await r.json()).error.code).toBe("validation.failed");
    }
    expect((await post("/search", { query: "refund" }, "user")).status).toBe(403);
    expect((await post("/search", { query: "refund" }, "anon")).status).toBe(403);
  });
});

describe("index status and reindex", () => {
  it("counts fresh, stale, missing and orphaned rows for readers", async () => {
    const r = await app.request("/memory/index/status?source=actp_memory_documents", { headers: { authorization: auth("viewer") } });
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.active).toMatchObject({ stale: 0, missing: 0, orphaned: 0, embedder: { name: "actp-lexical-v1" } });
    expect(body.active.fresh).toBeGreaterThanOrEqual(2);
    expect(body.sources).toEqual(["actp_memory_documents"]);
    expect((await app.request("/memory/index/status", { headers: { authorization: auth("user") } })).status).toBe(403);
  });

  it("rebuilds for the service role only; one source or all", async () => {
    expect((await post("/reindex", {}, "operator")).status).toBe(403);
    const one = await post("/reindex", { source: "actp_memory_documents" });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ source: "actp_memory_documents", state: "active" });
    const all = await post("/reindex", {});
    expect(all.status).toBe(200);
    expect(await all.json()).toMatchObject({ source: null, state: "active", embedder: "actp-lexical-v1" });
    const missing = await post("/reindex", { source: "nope_table" });
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe("memory.source_not_found");
    expect((await post("/search", { query: "RF-20931" }, "viewer")).status).toBe(200);
  });
});
