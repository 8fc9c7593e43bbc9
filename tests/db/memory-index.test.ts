// The memory plane on the embedded database: vault sync (idempotent, removals, whitespace), the
// retrieval index kept fresh by the source triggers, hybrid search, status and reconcile, rebuilds
// that give the same top-10, and an embedder switch through a shadow generation with a real
// OpenAI-compatible HTTP server on loopback.
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../shared/db/types.ts";
import { lexicalEmbedder, openAICompatibleEmbedder } from "../../shared/memory/embedders/index.ts";
import { drainEmbeddings } from "../../shared/memory/embed-work.ts";
import { searchMemory } from "../../shared/memory/search.ts";
import { beginGeneration, indexStatus, reindexSource, syncVault } from "../../shared/memory/statements.ts";
import { readVault } from "../../node/memory/vault.ts";
import { FakeEmbeddings } from "../support/fake-embeddings.ts";
import { testDatabase } from "../support/db.ts";

let db: Database;
let dir: string;
const vault = `v${Date.now().toString(36)}`;
const DOCS = "actp_memory_documents";

const KG = `# Knowledge graph

## Agents

### Researcher
The researcher agent reads sources and rotates its API credentials every 30 days.

When a key expires the gateway answers error ZX-4471 and the job retries with backoff.

## Infrastructure

Deployments run on kubernetes clusters. Dead letter queues hold poisoned jobs for review.
`;
const TACIT = `# Tacit knowledge

## Incidents
During an outage, halve the budgets first and page the operator on call.
`;
const DAILY = `# 2026-12-01

Shipped the circuit breaker dashboard. The flaky retry test is fixed.
`;

async function sync() {
  return syncVault(db, vault, await readVault(dir));
}

const search = (query: string, extra: Record<string, unknown> = {}) =>
  searchMemory(db, lexicalEmbedder(db), { query, filters: { source_table: DOCS }, ...extra });

beforeAll(async () => {
  db = testDatabase();
  dir = await mkdtemp(join(tmpdir(), "actp-vault-"));
  await mkdir(join(dir, "DAILY-NOTES"));
  await writeFile(join(dir, "KNOWLEDGE-GRAPH.md"), KG);
  await writeFile(join(dir, "TACIT-KNOWLEDGE.md"), TACIT);
  await writeFile(join(dir, "DAILY-NOTES", "2026-12-01.md"), DAILY);
  await writeFile(join(dir, "notes.txt"), "not markdown");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await db.end();
});

describe("actp memory sync", () => {
  it("mirrors every .md file, chunked by heading, with layers by file", async () => {
    const first = await sync();
    expect(first).toMatchObject({ files: 3, inserted: first.chunks, updated: 0, deleted: 0 });
    const { rows } = await db.query<{ path: string; heading: string; heading_path: string[]; layer: string }>(
      `select path, heading, heading_path, layer from public.actp_memory_documents where vault = $1 order by path, chunk`,
      [vault],
    );
    expect(rows.map((r) => `${r.path}|${r.heading}|${r.layer}`)).toEqual([
      "DAILY-NOTES/2026-12-01.md|2026-12-01|episodic",
      "KNOWLEDGE-GRAPH.md|Researcher|semantic",
      "KNOWLEDGE-GRAPH.md|Infrastructure|semantic",
      "TACIT-KNOWLEDGE.md|Incidents|procedural",
    ]);
    expect(rows[1]!.heading_path).toEqual(["Knowledge graph", "Agents", "Researcher"]);
  });

  it("is idempotent: a second sync writes nothing, and neither does a whitespace-only edit", async () => {
    const before = await db.query<{ indexed_at: string }>(`select indexed_at::text from public.actp_retrieval_index where path = 'TACIT-KNOWLEDGE.md' and source_table = $1`, [DOCS]);
    expect(await sync()).toMatchObject({ inserted: 0, updated: 0, deleted: 0, unchanged: 4 });
    await writeFile(join(dir, "TACIT-KNOWLEDGE.md"), TACIT.replace("halve the budgets", "halve   the\nbudgets") + "\n\n\n");
    expect(await sync()).toMatchObject({ inserted: 0, updated: 0, deleted: 0 });
    const after = await db.query<{ indexed_at: string }>(`select indexed_at::text from public.actp_retrieval_index where path = 'TACIT-KNOWLEDGE.md' and source_table = $1`, [DOCS]);
    expect(after.rows).toEqual(before.rows);
  });

  it("updates a changed section and removes deleted sections and files, in the index too", async () => {
    await writeFile(join(dir, "KNOWLEDGE-GRAPH.md"), KG.replace(/## Infrastructure[\s\S]*$/, "## Infrastructure\n\nEverything runs on bare metal now.\n"));
    expect(await sync()).toMatchObject({ updated: 1, inserted: 0, deleted: 0 });
    expect((await search("kubernetes clusters", { mode: "keyword" })).results).toEqual([]);
    expect((await search("bare metal", { mode: "keyword" })).results[0]).toMatchObject({ path: "KNOWLEDGE-GRAPH.md", heading: "Infrastructure", stale: false });

    await rm(join(dir, "DAILY-NOTES", "2026-12-01.md"));
    expect(await sync()).toMatchObject({ deleted: 1 });
    const idx = await db.query(`select 1 from public.actp_retrieval_index where source_table = $1 and path like 'DAILY-NOTES/%'`, [DOCS]);
    expect(idx.rows).toEqual([]);
    await writeFile(join(dir, "DAILY-NOTES", "2026-12-01.md"), DAILY);
    expect(await sync()).toMatchObject({ inserted: 1 });
  });

  it("refuses a folder that does not exist, deleting nothing", async () => {
    await expect(readVault(join(dir, "nope"))).rejects.toMatchObject({ code: "memory.folder_not_found" });
    const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from public.actp_memory_documents where vault = $1`, [vault]);
    expect(rows[0]!.n).toBe(4);
  });
});

describe("retrieval index and search", () => {
  it("finds an exact code by keywords and a misspelling by the lexical vectors, with path and heading", async () => {
    const code = await search("ZX-4471");
    expect(code.results[0]).toMatchObject({ path: "KNOWLEDGE-GRAPH.md", heading: "Researcher", stale: false, layer: "semantic" });
    expect(code.results[0]!.keyword_rank).toBe(1);
    expect(code.embedder).toEqual({ name: "actp-lexical-v1", dimensions: 384, lexical: true });

    const typo = await search("circiut braker dashbord");
    expect((await search("circiut braker dashbord", { mode: "keyword" })).results).toEqual([]);
    expect(typo.results[0]).toMatchObject({ path: "DAILY-NOTES/2026-12-01.md", keyword_rank: null, vector_rank: 1 });
  });

  it("ranks rows holding every query term first, and keeps weak partial matches out of the fusion", async () => {
    const agent = `cov-${Date.now().toString(36)}`;
    const goals = [
      ["all", "quokka harbour lantern inspection"],
      // One term, many times: ts_rank_cd alone rates it high; it holds a third of the query.
      ["one", "lantern lantern lantern lantern lantern lantern lantern lantern"],
      ["two", "quokka lantern near the quay"],
    ] as const;
    for (const [title, description] of goals) {
      await db.query(`insert into public.actp_memory_goals (agent_slug, title, description) values ($1, $2, $3)`, [agent, title, description]);
    }
    const titleOf = async (id: string) =>
      (await db.query<{ title: string }>(`select title from public.actp_memory_goals where id::text = $1`, [id])).rows[0]!.title;
    const q = "quokka harbour lantern";
    const kw = (await searchMemory(db, lexicalEmbedder(db), { query: q, mode: "keyword", filters: { agent } })).results;
    expect(await Promise.all(kw.map((r) => titleOf(r.source_id)))).toEqual(["all", "two", "one"]);
    // Scores order as ranks do: the share of the query's (IDF-weighted) terms held comes first, so
    // the row holding a third of them scores about a third, under the fusion's half-of-best cut.
    const scores = kw.map((r) => r.score);
    expect(scores[0]!).toBeGreaterThan(scores[1]!);
    expect(scores[1]!).toBeGreaterThan(scores[2]!);
    expect(scores[0]!).toBeGreaterThan(0.9);
    expect(scores[2]!).toBeLessThan(scores[0]! / 2);
    const hy = (await searchMemory(db, lexicalEmbedder(db), { query: q, filters: { agent } })).results;
    expect(await titleOf(hy[0]!.source_id)).toBe("all");
    expect(hy[0]).toMatchObject({ keyword_rank: 1 });
    const byTitle = new Map(await Promise.all(hy.map(async (r) => [await titleOf(r.source_id), r] as const)));
    // Two of three terms is at least half of the best row's three: it stays a keyword match.
    expect(byTitle.get("two")?.keyword_rank).toBe(2);
    // One of three is under half: in the fusion it counts only by its vector rank, if any.
    expect(byTitle.get("one")?.keyword_rank ?? null).toBeNull();
  });

  it("matches a query of only common words by all of them when enough rows hold all, with the same list", async () => {
    const agent = `common-${Date.now().toString(36)}`;
    const rows: string[] = [];
    // 24 rows hold all three words (more than twice k = 10), 40 hold two of them; fillers keep texts distinct.
    for (let i = 0; i < 24; i++) rows.push(`walrus ledger beacon ${"filler ".repeat(i % 7)}entry ${i}`);
    for (let i = 0; i < 40; i++) rows.push(`${i % 2 ? "walrus" : "beacon"} ledger ledger ${"padding ".repeat(i % 5)}note ${i}`);
    for (const [i, text] of rows.entries()) {
      await db.query(`insert into public.actp_memory_goals (agent_slug, title, description) values ($1, $2, $3)`, [agent, `g${i}`, text]);
    }
    const q = "walrus ledger beacon";
    const pruned = (await searchMemory(db, lexicalEmbedder(db), { query: q, k: 10, mode: "keyword", filters: { agent } })).results;
    // k = 100 wants 200 rows, more than hold all three: every matching row is scored, unpruned.
    const full = (await searchMemory(db, lexicalEmbedder(db), { query: q, k: 100, mode: "keyword", filters: { agent } })).results;
    expect(full).toHaveLength(64);
    expect(pruned.map((r) => r.source_id)).toEqual(full.slice(0, 10).map((r) => r.source_id));
    expect(pruned.map((r) => r.score)).toEqual(full.slice(0, 10).map((r) => r.score));
    expect(pruned.every((r) => r.score >= 1)).toBe(true);
    const hybrid = (await searchMemory(db, lexicalEmbedder(db), { query: q, k: 10, filters: { agent } })).results;
    // The fusion's keyword ranks are the keyword list's.
    const kwRanked = hybrid.filter((r) => r.keyword_rank !== null && r.keyword_rank <= 10);
    expect(kwRanked.length).toBeGreaterThan(0);
    for (const r of kwRanked) expect(r.source_id).toBe(pruned[r.keyword_rank! - 1]!.source_id);
  });

  it("ranks vectors exactly on a small index (cosine, ties by source) and says which search ran", async () => {
    const q = "circuit breaker dashboard retries";
    const exact = await searchMemory(db, lexicalEmbedder(db), { query: q, mode: "vector", k: 5 });
    expect(exact.vector_search).toBe("exact");
    const { rows } = await db.query<{ id: string }>(
      `select x.source_table || ':' || x.source_id as id
         from public.actp_retrieval_index x join public.actp_retrieval_generations g on g.id = x.generation and g.state = 'active'
        where x.embedding is not null and x.embedded_hash = x.content_hash
          and (x.embedding <=> public.actp_embed_lexical($1, g.dimensions)) <= 0.95
        order by x.embedding <=> public.actp_embed_lexical($1, g.dimensions), x.source_table, x.source_id
        limit 5`,
      [q],
    );
    expect(exact.results.map((r) => `${r.source_table}:${r.source_id}`)).toEqual(rows.map((r) => r.id));
    expect(exact.results.map((r) => r.vector_rank)).toEqual([1, 2, 3, 4, 5]);
    const approximate = await searchMemory(db, lexicalEmbedder(db), { query: q, mode: "vector", k: 5, exact: false });
    expect(approximate.vector_search).toBe("approximate");
    expect((await searchMemory(db, lexicalEmbedder(db), { query: q, mode: "keyword" })).vector_search).toBeUndefined();
    await expect(searchMemory(db, lexicalEmbedder(db), { query: q, exact: "yes" } as never)).rejects.toMatchObject({ code: "memory.invalid_search" });
  });

  it("filters by layer and agent and still returns k results when the filter is selective", async () => {
    for (let i = 0; i < 30; i++) {
      // Distinct texts: exact score ties would make any top-k's cut arbitrary.
      await db.query(`insert into public.actp_memory_goals (agent_slug, title, description) values ($1, $2, $3)`, [
        i < 3 ? "rare-agent" : "busy-agent",
        `goal ${i}`,
        `ship the memory plane${" soon".repeat(i)}`,
      ]);
    }
    const r = await searchMemory(db, lexicalEmbedder(db), { query: "ship the memory plane", k: 3, filters: { agent: "rare-agent" } });
    expect(r.results).toHaveLength(3);
    expect(r.results.every((x) => x.layer === "goals" && x.agent_slug === "rare-agent")).toBe(true);
    const p = await searchMemory(db, lexicalEmbedder(db), { query: "outage budgets", filters: { layer: "procedural" } });
    expect(p.results.map((x) => x.path)).toEqual(["TACIT-KNOWLEDGE.md"]);
  });

  it("reports missing, stale and orphaned rows in one view, and the reconcile sweep repairs them", async () => {
    const clean = await indexStatus(db, DOCS);
    expect(clean.active).toMatchObject({ stale: 0, missing: 0, orphaned: 0 });
    const fresh = clean.active!.fresh;
    // Bypass the triggers the way a restore or a replica would, then look.
    await db.transaction(async (tx) => {
      await tx.query(`set local session_replication_role = replica`);
      await tx.query(`delete from public.actp_retrieval_index where source_table = $1 and path = 'TACIT-KNOWLEDGE.md'`, [DOCS]);
      await tx.query(`update public.actp_memory_documents set content = content || ' Also call the vendor.' where vault = $1 and path = 'DAILY-NOTES/2026-12-01.md'`, [vault]);
      await tx.query(
        `insert into public.actp_retrieval_index (generation, embedder, dimensions, source_table, source_id, layer, content, content_hash)
         select id, embedder, dimensions, $1, gen_random_uuid()::text, 'semantic', 'ghost', 'x' from public.actp_retrieval_generations where state = 'active'`,
        [DOCS],
      );
    });
    const broken = await indexStatus(db, DOCS);
    expect(broken.active).toMatchObject({ missing: 1, stale: 1, orphaned: 1, fresh: fresh - 2 });
    // Search notices the changed source at read time.
    const hit = (await search("circuit breaker dashboard")).results.find((x) => x.path === "DAILY-NOTES/2026-12-01.md");
    expect(hit?.stale).toBe(true);
    await db.query(`select public.actp_retrieval_reconcile($1)`, [DOCS]);
    expect((await indexStatus(db, DOCS)).active).toMatchObject({ missing: 0, stale: 0, orphaned: 0, fresh });
  });

  it("rebuilds from scratch with the same top-10 for the same queries, and one source in place", async () => {
    const queries = ["ZX-4471", "circiut braker", "api credentials rotation", "outage budgets operator", "memory plane", "goal 7"];
    const top = async () => {
      const out: string[][] = [];
      for (const q of queries) {
        const r = await searchMemory(db, lexicalEmbedder(db), { query: q });
        // A small index is searched exactly by default: what makes the lists reproducible.
        if (r.results.some((x) => x.vector_rank !== null)) expect(r.vector_search).toBe("exact");
        out.push(r.results.map((x) => `${x.source_table}:${x.source_id}`));
      }
      return out;
    };
    const before = await top();
    const all = await beginGeneration(db, lexicalEmbedder(db).identity);
    expect(all).toMatchObject({ state: "active", pending: 0 });
    expect(await top()).toEqual(before);
    const one = await reindexSource(db, DOCS);
    expect(one).toMatchObject({ source: DOCS, rows: 4 });
    expect(await top()).toEqual(before);
    await expect(reindexSource(db, "no_such_table")).rejects.toMatchObject({ message: expect.stringContaining("memory.source_not_found") });
  });
});

describe("changing the embedder", () => {
  let fake: FakeEmbeddings;
  beforeAll(async () => {
    fake = await FakeEmbeddings.start(64);
  });
  afterAll(async () => {
    await beginGeneration(db, lexicalEmbedder(db).identity); // leave the default behind
    await fake.stop();
  });

  it("fills a shadow generation while search keeps answering from the old one, then switches atomically", async () => {
    const http = openAICompatibleEmbedder({ baseURL: fake.url, model: "fake-embed", dimensions: 64, apiKey: "sk-test" });
    const started = await beginGeneration(db, http.identity);
    expect(started).toMatchObject({ state: "filling", embedder: "openai-compatible:fake-embed", dimensions: 64 });
    expect(started.pending).toBe(started.rows);

    // Mid-switch: still the lexical generation, whole.
    const mid = await search("ZX-4471");
    expect(mid.embedder.name).toBe("actp-lexical-v1");
    expect(mid.results[0]?.heading).toBe("Researcher");
    const status = await indexStatus(db);
    expect(status.filling).toMatchObject({ generation: started.generation, pending: started.rows });

    // A failing endpoint backs off and keeps the old generation active.
    fake.failNext = { status: 503, remaining: 1 };
    const failed = await drainEmbeddings(db, http, { batchSize: 8 });
    expect(failed).toMatchObject({ failed: 8, written: 0, promoted: false });
    await db.query(`update public.actp_retrieval_pending set not_before = now() where generation = $1`, [started.generation]);

    const done = await drainEmbeddings(db, http, { batchSize: 8 });
    expect(done).toMatchObject({ written: started.rows, promoted: true });
    expect(fake.requests.every((r) => r.authorization === "Bearer sk-test" && r.model === "fake-embed")).toBe(true);

    // The new embedder is live; its paraphrase table finds what no keyword matches.
    const after = await searchMemory(db, http, { query: "secret renew", filters: { source_table: DOCS } });
    expect(after.embedder).toEqual({ name: "openai-compatible:fake-embed", dimensions: 64, lexical: false });
    expect(after.results[0]).toMatchObject({ heading: "Researcher", keyword_rank: null, vector_rank: 1 });
    // A process without that embedder degrades to keywords instead of mixing models.
    const lexOnly = await searchMemory(db, lexicalEmbedder(db), { query: "ZX-4471" });
    expect(lexOnly).toMatchObject({ mode: "keyword", degraded: expect.stringContaining("fake-embed") });

    // A source update makes the row's vector stale until the worker re-embeds it; search still finds
    // it by keywords and says it is stale.
    await db.query(`update public.actp_memory_documents set content = content || ' Escalate to ZX-9000.' where vault = $1 and heading = 'Researcher'`, [vault]);
    const stale = await searchMemory(db, http, { query: "ZX-9000", filters: { source_table: DOCS } });
    expect(stale.results[0]).toMatchObject({ heading: "Researcher", stale: true, vector_rank: null });
    expect(await drainEmbeddings(db, http)).toMatchObject({ written: 1 });
    const fresh = await searchMemory(db, http, { query: "ZX-9000", filters: { source_table: DOCS } });
    expect(fresh.results[0]).toMatchObject({ heading: "Researcher", stale: false });
  });
});

describe("the context assembler reads conversation turns and goals", () => {
  it("gives the newest conversation's turns (a tool pair as one atomic item) and the agent's active goals", async () => {
    const { assembleContext } = await import("../../shared/context/assemble.ts");
    const agent = `ctxmem-${Date.now().toString(36)}`;
    const conv = `c-${agent}`;
    await db.query(`insert into public.actp_memory_conversations (id, user_id, agent_slug, summary) values ($1, 'u-1', $2, 'They asked about refunds.')`, [conv, agent]);
    const turns: [string, string, string | null][] = [
      ["user", "Refund order 42 please", null],
      ["assistant", "Looking it up", "tu-1"],
      ["tool", "order 42: paid, 30 EUR", "tu-1"],
      ["assistant", "Refunded 30 EUR.", null],
    ];
    for (const [seq, [role, content, tool]] of turns.entries()) {
      await db.query(`insert into public.actp_memory_conversation_turns (conversation_id, seq, role, content, tool_use_id, agent_slug) values ($1, $2, $3, $4, $5, $6)`, [conv, seq, role, content, tool, agent]);
    }
    await db.query(`insert into public.actp_memory_goals (agent_slug, title, priority) values ($1, 'Close refund tickets', 5), ($1, 'Old goal', 1)`, [agent]);
    await db.query(`update public.actp_memory_goals set status = 'done' where agent_slug = $1 and title = 'Old goal'`, [agent]);
    const packet = await assembleContext(db, { task_type: "support", agent_slug: agent, user_id: "u-1", token_budget: 4000 });
    expect(packet.conversation.summary).toBe("They asked about refunds.");
    expect(packet.conversation.turns.map((t) => t.text)).toEqual([
      "assistant: Refunded 30 EUR.",
      "assistant: Looking it up\ntool: order 42: paid, 30 EUR",
      "user: Refund order 42 please",
    ]);
    expect(packet.goals.active_objectives.map((g) => g.text)).toEqual(["Close refund tickets"]);
    // Turns and goals are sources of the index too.
    const hit = await searchMemory(db, lexicalEmbedder(db), { query: "refund tickets", filters: { agent } });
    expect(new Set(hit.results.map((r) => r.layer))).toEqual(new Set(["conversation", "goals"]));
    expect(hit.results.every((r) => r.agent_slug === agent)).toBe(true);
  });
});
