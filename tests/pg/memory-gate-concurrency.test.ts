// The memory gate's concurrency claims on real PostgreSQL 15 with separate connections: contradicting
// proposals for one key approved at once leave exactly one current fact and one linked supersession
// chain in commit order; another key is never superseded; the same proposal submitted at once is one.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../shared/db/types.ts";
import { propose, scoreProposal } from "../../shared/memory-gate/statements.ts";
import { clientQueryable, freshPgDatabase, parallelClients, type FreshDatabase } from "../support/pg.ts";

const CLIENTS = 16;
let fresh: FreshDatabase;
let clients: pg.Client[] = [];

const asQueryable = clientQueryable;

/** Runs fn in a transaction on client c that stays open a moment after fn, so the others pile up behind its locks. */
async function inTx<T>(c: pg.Client, fn: (q: Queryable) => Promise<T>): Promise<T> {
  await c.query("begin");
  try {
    const out = await fn(asQueryable(c));
    await c.query("select pg_sleep(0.02)");
    await c.query("commit");
    return out;
  } catch (err) {
    await c.query("rollback");
    throw err;
  }
}

async function evidence(): Promise<string> {
  const { rows } = await fresh.db.query<{ id: string }>(
    `insert into actp_research_evidence (url, final_url, domain, content_type, text, content_hash, authority)
     values ('https://docs.example.org/c', 'https://docs.example.org/c', 'example.org', 'text/plain', 'The limit is 1.', $1, 0.9) returning id`,
    ["sha256:" + createHash("sha256").update(randomUUID()).digest("hex")],
  );
  return rows[0]!.id;
}

beforeAll(async () => {
  fresh = await freshPgDatabase("memory_gate_concurrency");
  clients = await parallelClients(fresh.url, CLIENTS, "actp-gate-race");
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
  await fresh?.drop();
});

describe("concurrent approvals of one key", () => {
  it("leave one current fact and a single chain through every approved value, in commit order", async () => {
    const ev = await evidence();
    const subject = `race-${randomBytes(3).toString("hex")}`;
    // An unrelated key of the same subject, and the same key in the other layer: neither may be superseded.
    const bystanders = await Promise.all([
      propose(fresh.db, { layer: "semantic", subject, key: "other", value: 0, content: "The other limit is 0.", evidence_refs: [ev] }),
      propose(fresh.db, { layer: "procedural", subject, key: "limit", value: 0, content: "The procedure limit is 0.", evidence_refs: [ev] }),
    ]);
    for (const b of bystanders) await scoreProposal(fresh.db, b.proposal.id, 9);

    const proposals = await Promise.all(
      clients.map((_, i) => propose(fresh.db, { layer: "semantic", subject, key: "limit", value: i, content: `The limit is ${i}.`, evidence_refs: [ev] })),
    );
    const decided = await Promise.all(clients.map((c, i) => inTx(c, (q) => scoreProposal(q, proposals[i]!.proposal.id, 8 + (i % 3) * 0.5))));
    expect(decided.every((d) => d.scored && d.proposal.status === "approved")).toBe(true);

    const { rows } = await fresh.db.query<{ id: string; layer: string; key: string; value: number; superseded_by: string | null; recorded_at: Date; superseded_at: Date | null }>(
      `select id, layer, key, value, superseded_by, recorded_at, superseded_at from actp_memory_facts where subject = $1 order by recorded_at, id`,
      [subject],
    );
    const chain = rows.filter((r) => r.layer === "semantic" && r.key === "limit");
    expect(chain).toHaveLength(CLIENTS);
    expect(chain.filter((r) => r.superseded_at === null)).toHaveLength(1);
    // Walk from the fact nobody superseded into: one chain, every fact once, times increasing.
    const pointedTo = new Set(chain.map((r) => r.superseded_by).filter(Boolean));
    const heads = chain.filter((r) => !pointedTo.has(r.id));
    expect(heads).toHaveLength(1);
    const byId = new Map(chain.map((r) => [r.id, r]));
    const walked: typeof chain = [];
    for (let f: (typeof chain)[number] | undefined = heads[0]; f; f = f.superseded_by ? byId.get(f.superseded_by) : undefined) walked.push(f);
    expect(walked).toHaveLength(CLIENTS);
    for (let i = 1; i < walked.length; i++) {
      expect(walked[i]!.recorded_at.getTime()).toBeGreaterThanOrEqual(walked[i - 1]!.recorded_at.getTime());
      expect(walked[i - 1]!.superseded_at!.getTime()).toBe(walked[i]!.recorded_at.getTime());
    }
    expect(new Set(walked.map((f) => f.value)).size).toBe(CLIENTS);
    // The bystanders are current and untouched.
    const others = rows.filter((r) => !(r.layer === "semantic" && r.key === "limit"));
    expect(others.map((r) => [r.layer, r.key, r.superseded_at])).toEqual(expect.arrayContaining([["semantic", "other", null], ["procedural", "limit", null]]));
  });

  it("direct writes of one key at once keep one current fact too", async () => {
    const subject = `race-w-${randomBytes(3).toString("hex")}`;
    await Promise.all(
      clients.map((c, i) => inTx(c, (q) => q.query(`select actp_memory_facts_write($1::jsonb)`, [JSON.stringify({ layer: "procedural", subject, key: "k", value: i, content: `k is ${i}` })]))),
    );
    const { rows } = await fresh.db.query<{ current: number; total: number }>(
      `select count(*) filter (where superseded_at is null)::int as current, count(*)::int as total from actp_memory_facts where subject = $1`,
      [subject],
    );
    expect(rows[0]).toEqual({ current: 1, total: CLIENTS });
  });
});

describe("the same proposal submitted at once", () => {
  it("is one proposal and one research.proposal_created event", async () => {
    const ev = await evidence();
    const body = { layer: "semantic", subject: `idem-${randomBytes(3).toString("hex")}`, key: "k", value: { v: 1 }, content: "The value is 1.", evidence_refs: [ev] };
    const results = await Promise.all(clients.map((c) => inTx(c, (q) => propose(q, body))));
    expect(new Set(results.map((r) => r.proposal.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const { rows } = await fresh.db.query<{ n: number }>(`select count(*)::int as n from actp_events where type = 'research.proposal_created' and payload ->> 'proposal_id' = $1`, [results[0]!.proposal.id]);
    expect(rows[0]!.n).toBe(1);
  });
});
