// Concurrent registration on real PostgreSQL 15: ten workers starting at once must make exactly one
// version per change. A "gate" connection holds the conflicting write open, so the ten registrations
// really are blocked on it (checked in pg_stat_activity) and race the moment it ends; the free-for-all
// rounds add the timing-dependent interleavings on top.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineAgent, syncAgents } from "../../node/worker/agents/index.ts";
import type { Queryable } from "../../shared/db/types.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

const CLIENTS = 10;
let fresh: FreshDatabase;
let clients: pg.Client[];

beforeAll(async () => {
  fresh = await freshPgDatabase("agents_registry");
  clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = new pg.Client({ connectionString: fresh.url, application_name: "actp-agents-race" });
      await c.connect();
      return c;
    }),
  );
});
afterAll(async () => {
  await Promise.all((clients ?? []).map((c) => c.end()));
  await fresh?.drop();
});

interface Result {
  slug: string;
  version: number;
  changed: boolean;
}

const definition = (slug: string, description = "d") => ({
  slug,
  description,
  capabilities: [{ tool: "web.fetch", tier: "read" }],
  model_policy: { max_cost_usd: 1 },
});

const asQueryable = (c: pg.Client): Queryable => ({
  query: async <R>(text: string, values?: readonly unknown[]) => {
    const res = await c.query(text, values as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount };
  },
});

const registerOn = async (c: pg.Client | Queryable, def: unknown): Promise<Result> =>
  (await (c instanceof pg.Client ? asQueryable(c) : c).query<{ r: Result }>(`select public.actp_agents_register($1::jsonb) as r`, [JSON.stringify(def)])).rows[0]!.r;

async function versionsOf(slug: string): Promise<number[]> {
  const { rows } = await fresh.db.query<{ version: number }>(
    `select v.version from public.actp_agent_versions v join public.actp_agent_definitions a on a.id = v.agent_id
      where a.slug = $1 order by v.version`,
    [slug],
  );
  return rows.map((r) => r.version);
}

async function waitUntilBlocked(n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await fresh.db.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = 'actp-agents-race' and wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${rows[0]!.n} of ${n} registrations are waiting on the gate`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens a transaction on its own connection that has registered `def` but not committed yet. */
async function gate(def: unknown) {
  const c = new pg.Client({ connectionString: fresh.url, application_name: "actp-agents-gate" });
  await c.connect();
  await c.query("begin");
  const r = await registerOn(c, def);
  return {
    result: r,
    async end(outcome: "commit" | "rollback") {
      await c.query(outcome);
      await c.end();
    },
  };
}

describe("concurrent registration (10 connections)", () => {
  it("ten first registrations racing the insert make one agent and one version", async () => {
    const def = definition("race-new");
    const g = await gate(def);
    expect(g.result).toMatchObject({ version: 1, changed: true });
    const racing = Promise.all(clients.map((c) => registerOn(c, def)));
    await waitUntilBlocked(CLIENTS);
    await g.end("commit");
    const results = await racing;
    expect(results.every((r) => r.version === 1 && !r.changed)).toBe(true);
    expect(await versionsOf("race-new")).toEqual([1]);
  });

  it("when the first registration rolls back, exactly one of the ten takes its place", async () => {
    const def = definition("race-rollback");
    const g = await gate(def);
    const racing = Promise.all(clients.map((c) => registerOn(c, def)));
    await waitUntilBlocked(CLIENTS);
    await g.end("rollback");
    const results = await racing;
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    expect(results.every((r) => r.version === 1)).toBe(true);
    expect(await versionsOf("race-rollback")).toEqual([1]);
  });

  it("ten registrations of the same change, blocked on the row lock, make one new version", async () => {
    await registerOn(fresh.db, definition("race-change"));
    const changed = definition("race-change", "changed");
    const g = await gate(changed);
    expect(g.result).toMatchObject({ version: 2, changed: true });
    const racing = Promise.all(clients.map((c) => registerOn(c, changed)));
    await waitUntilBlocked(CLIENTS);
    await g.end("commit");
    const results = await racing;
    expect(results.every((r) => r.version === 2 && !r.changed)).toBe(true);
    expect(await versionsOf("race-change")).toEqual([1, 2]);
  });

  it("ten different changes at once become ten consecutive versions, the row matching the last", async () => {
    await registerOn(fresh.db, definition("race-distinct"));
    const results = await Promise.all(clients.map((c, i) => registerOn(c, definition("race-distinct", `variant ${i}`))));
    expect(results.every((r) => r.changed)).toBe(true);
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: CLIENTS }, (_, i) => i + 2));
    expect(await versionsOf("race-distinct")).toEqual(Array.from({ length: CLIENTS + 1 }, (_, i) => i + 1));
    const { rows } = await fresh.db.query<{ matches: boolean }>(
      `select a.definition_hash = (v.snapshot ->> 'definition_hash') and a.description = (v.snapshot ->> 'description') as matches
         from public.actp_agent_definitions a join public.actp_agent_versions v on v.agent_id = a.id and v.version = a.version
        where a.slug = 'race-distinct'`,
    );
    expect(rows[0]!.matches).toBe(true);
  });

  it("free-for-all: 20 rounds of ten simultaneous registrations never duplicate a version", async () => {
    for (let round = 0; round < 20; round++) {
      const slug = `ffa-${round}`;
      const first = await Promise.all(clients.map((c) => registerOn(c, definition(slug))));
      expect(first.filter((r) => r.changed)).toHaveLength(1);
      const second = await Promise.all(clients.map((c) => registerOn(c, definition(slug, "v2"))));
      expect(second.filter((r) => r.changed)).toHaveLength(1);
      expect(await versionsOf(slug)).toEqual([1, 2]);
    }
  });

  it("ten workers syncing overlapping agent sets in different orders neither deadlock nor duplicate", async () => {
    const agents = ["sync-a", "sync-b", "sync-c", "sync-d"].map((slug) =>
      defineAgent({ slug, input: z.object({ n: z.number() }), capabilities: [{ tool: "calc", tier: "read" }], handler: (_ctx, input) => input.n }),
    );
    const queryables = clients.map(asQueryable);
    const results = await Promise.all(queryables.map((q, i) => syncAgents(q, i % 2 ? [...agents].reverse() : agents)));
    for (const agent of agents) {
      const made = results.flat().filter((r) => r.slug === agent.slug && r.changed);
      expect(made).toHaveLength(1);
      expect(await versionsOf(agent.slug)).toEqual([1]);
    }
  });
});
