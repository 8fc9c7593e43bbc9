// The retrieval index's freshness guarantees under real concurrency on PostgreSQL 15 (PRD §4.7):
// an embedding computed from an older version of a row never overwrites a newer one, however the
// workers and writers interleave; and N concurrent identical updates enqueue one embedding job.
import { createHash } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { beginGeneration, claimDue, indexStatus, liveGenerations, writeEmbeddings, type ClaimedRow } from "../../shared/memory/statements.ts";
import { openAICompatibleEmbedder } from "../../shared/memory/embedders/index.ts";
import { createBoss } from "../../node/worker/boss.ts";
import { workEmbedQueue } from "../../node/memory/embed-queue.ts";
import { FakeEmbeddings } from "../support/fake-embeddings.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

const DIMS = 8;
let fresh: FreshDatabase;
let clients: pg.Client[];
let generation: number;

/** What the hash-normalized text hashes to (actp_memory_hash of heading + content). */
const hashOf = (heading: string, content: string) =>
  createHash("sha256").update(`${heading}\n${content}`.trim().replace(/\s+/g, " ")).digest("hex");
/** A "model" whose vector encodes the hash it embedded, so a row's vector can be traced to its version. */
const vectorOf = (hash: string) => Array.from({ length: DIMS }, (_, i) => parseInt(hash.slice(i * 2, i * 2 + 2), 16) / 255 + 0.01);

beforeAll(async () => {
  fresh = await freshPgDatabase("memory_index", { poolSize: 30 });
  clients = await Promise.all(
    Array.from({ length: 24 }, async () => {
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      return c;
    }),
  );
  // A worker-embedded generation (nothing to fill yet: it is promoted at once).
  const g = await beginGeneration(fresh.db, { name: "test-remote", dimensions: DIMS, lexical: false });
  expect(g.state).toBe("active");
  generation = g.generation;
});
afterAll(async () => {
  await Promise.all((clients ?? []).map((c) => c.end()));
  await fresh?.drop();
});

async function newDoc(vault: string, content: string): Promise<string> {
  const { rows } = await fresh.db.query<{ id: string }>(
    `insert into actp_memory_documents (vault, path, anchor, chunk, layer, heading, content, content_hash)
     values ($1, 'a.md', 'A#0.0', 0, 'semantic', 'A', $2, actp_memory_hash($2)) returning id::text`,
    [vault, content],
  );
  return rows[0]!.id;
}

async function indexRow(id: string) {
  const { rows } = await fresh.db.query<{ content_hash: string; embedded_hash: string | null; embedding: string | null }>(
    `select content_hash, embedded_hash, embedding::text from actp_retrieval_index where generation = $1 and source_table = 'actp_memory_documents' and source_id = $2`,
    [generation, id],
  );
  return rows[0]!;
}

const write = (rows: ClaimedRow[]) =>
  writeEmbeddings(fresh.db, generation, rows.map((r) => ({ source_table: r.source_table, source_id: r.source_id, content_hash: r.content_hash, embedding: vectorOf(r.content_hash) })));

describe("an older embedding never overwrites a newer one", () => {
  it("a job holding version 1 loses to version 2 written meanwhile", async () => {
    const id = await newDoc("race1", "version 1");
    const [v1] = await claimDue(fresh.db, generation, 10);
    expect(v1!.content_hash).toBe(hashOf("A", "version 1"));
    await fresh.db.query(`update actp_memory_documents set content = 'version 2' where id = $1`, [id]);
    const [v2] = await claimDue(fresh.db, generation, 10); // the re-armed row is claimable at once
    expect(v2!.content_hash).toBe(hashOf("A", "version 2"));
    expect(await write([v2!])).toMatchObject({ written: 1, discarded: 0 });
    expect(await write([v1!])).toMatchObject({ written: 0, discarded: 1 });
    const row = await indexRow(id);
    expect(row.embedded_hash).toBe(hashOf("A", "version 2"));
    expect(JSON.parse(row.embedding!).map((x: number) => x.toFixed(4))).toEqual(vectorOf(row.embedded_hash!).map((x) => x.toFixed(4)));
    const pending = await fresh.db.query(`select 1 from actp_retrieval_pending where source_id = $1`, [id]);
    expect(pending.rows).toEqual([]);
  });

  it("under parallel writers and workers, every row ends on its last version and embedded versions only move forward", async () => {
    const ROWS = 6;
    const VERSIONS = 25;
    const ids: string[] = [];
    for (let r = 0; r < ROWS; r++) ids.push(await newDoc(`race-par-${r}`, `row ${r} version 0`));
    const versionOf = new Map<string, number>();
    for (let r = 0; r < ROWS; r++) for (let v = 0; v <= VERSIONS; v++) versionOf.set(hashOf("A", `row ${r} version ${v}`), v);

    let writing = true;
    const seen: number[][] = ids.map(() => []);
    // Writers: one per row (its versions in order), on their own connections.
    const writers = ids.map(async (id, r) => {
      const c = clients[r]!;
      for (let v = 1; v <= VERSIONS; v++) {
        await c.query(`update actp_memory_documents set content = $2 where id = $1`, [id, `row ${r} version ${v}`]);
        await new Promise((res) => setTimeout(res, Math.random() * 4));
      }
    });
    // Workers: claim small batches, take a random while to "embed", write conditionally.
    const workers = Array.from({ length: 8 }, async (_, w) => {
      const c = clients[ROWS + w]!;
      while (writing) {
        const { rows } = await c.query<ClaimedRow>(`select * from actp_retrieval_claim($1, 3, 30)`, [generation]);
        if (rows.length === 0) {
          await new Promise((res) => setTimeout(res, 2));
          continue;
        }
        await new Promise((res) => setTimeout(res, Math.random() * 15));
        await c.query(`select actp_retrieval_write_embeddings($1, $2::jsonb)`, [
          generation,
          JSON.stringify(rows.map((r) => ({ ...r, text: undefined, embedding: vectorOf(r.content_hash) }))),
        ]);
      }
    });
    // An observer: the embedded version of each row, over time.
    const observer = (async () => {
      const c = clients[ROWS + 8]!;
      while (writing) {
        const { rows } = await c.query<{ source_id: string; embedded_hash: string | null }>(
          `select source_id, embedded_hash from actp_retrieval_index where generation = $1 and source_id = any($2)`,
          [generation, ids],
        );
        for (const row of rows) if (row.embedded_hash) seen[ids.indexOf(row.source_id)]!.push(versionOf.get(row.embedded_hash)!);
        await new Promise((res) => setTimeout(res, 3));
      }
    })();
    await Promise.all(writers);
    // Let the workers finish what is due, then stop them.
    for (let i = 0; i < 200; i++) {
      const { rows } = await fresh.db.query<{ n: number }>(`select count(*)::int as n from actp_retrieval_pending where source_id = any($1)`, [ids]);
      if (rows[0]!.n === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    writing = false;
    await Promise.all([...workers, observer]);

    for (const [r, id] of ids.entries()) {
      const row = await indexRow(id);
      expect(row.content_hash).toBe(hashOf("A", `row ${r} version ${VERSIONS}`));
      expect(row.embedded_hash).toBe(row.content_hash);
      expect(JSON.parse(row.embedding!).map((x: number) => x.toFixed(4))).toEqual(vectorOf(row.content_hash).map((x) => x.toFixed(4)));
      const versions = seen[r]!;
      expect(versions.length).toBeGreaterThan(0);
      for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThanOrEqual(versions[i - 1]!);
    }
  });
});

describe("one job per source row and hash", () => {
  it("20 concurrent identical updates enqueue once and wake the queue once", async () => {
    const id = await newDoc("same", "original text");
    await write(await claimDue(fresh.db, generation, 100));
    const before = await fresh.db.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = 'actp.memory.embed' and state = 'created'`);
    await Promise.all(clients.slice(0, 20).map((c) => c.query(`update actp_memory_documents set content = 'the same new text' where id = $1`, [id])));
    const { rows } = await fresh.db.query<{ enqueues: number; content_hash: string }>(
      `select enqueues, content_hash from actp_retrieval_pending where source_id = $1`,
      [id],
    );
    expect(rows).toEqual([{ enqueues: 1, content_hash: hashOf("A", "the same new text") }]);
    const jobs = await fresh.db.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = 'actp.memory.embed' and state = 'created'`);
    expect(jobs.rows[0]!.n).toBeLessThanOrEqual(1);
    expect(jobs.rows[0]!.n).toBeGreaterThanOrEqual(before.rows[0]!.n);

    // Whitespace-only and no-op updates enqueue nothing.
    await Promise.all(clients.slice(0, 20).map((c, i) => c.query(`update actp_memory_documents set content = $2 where id = $1`, [id, i % 2 ? "the  same new\ttext " : "the same new text"])));
    const after = await fresh.db.query<{ enqueues: number }>(`select enqueues from actp_retrieval_pending where source_id = $1`, [id]);
    expect(after.rows).toEqual([{ enqueues: 1 }]);
  });
});

describe("the embedding worker", () => {
  it("fills a new embedder's shadow generation from the pg-boss queue and switches it in", async () => {
    const fake = await FakeEmbeddings.start(DIMS);
    const boss = createBoss(fresh.url, { supervise: false, max: 4 });
    await boss.start();
    try {
      const embedder = openAICompatibleEmbedder({ baseURL: fake.url, model: "fake", dimensions: DIMS });
      await workEmbedQueue(boss, fresh.db, { embedder, pollingIntervalSeconds: 0.5 });
      const started = await beginGeneration(fresh.db, embedder.identity);
      expect(started).toMatchObject({ state: "filling" });
      expect(started.rows).toBeGreaterThan(5);
      let active = "";
      for (let i = 0; i < 100 && active !== embedder.identity.name; i++) {
        await new Promise((res) => setTimeout(res, 100));
        active = (await liveGenerations(fresh.db)).find((g) => g.state === "active")!.embedder;
      }
      expect(active).toBe("openai-compatible:fake");
      const status = await indexStatus(fresh.db);
      expect(status.active).toMatchObject({ fresh: started.rows, stale: 0, missing: 0, orphaned: 0, pending: 0 });
      expect(status.filling).toBeNull();
      expect(fake.texts.length).toBeGreaterThanOrEqual(started.rows);
    } finally {
      await boss.stop({ graceful: false, close: true });
      await fake.stop();
    }
  });
});
