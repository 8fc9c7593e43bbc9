// Circuit breakers under real concurrency on PostgreSQL 15 (PRD §4.12): twenty workers arriving at
// the moment of recovery produce exactly one half-open probe, and failures reported at once by
// many workers open the breaker exactly once.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertCircuitConfig } from "../../shared/circuits/index.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

const CALLERS = 20;
const ROUNDS = 10;

let fresh: FreshDatabase;
let clients: pg.Client[];

beforeAll(async () => {
  fresh = await freshPgDatabase("circuits");
  // One connection per caller, connected beforehand, so the calls really race.
  clients = await Promise.all(
    Array.from({ length: 40 }, async () => {
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      return c;
    }),
  );
});
afterAll(async () => {
  await Promise.all((clients ?? []).map((c) => c.end()));
  await fresh?.drop();
});

async function eventCount(tool: string, type: string): Promise<number> {
  const { rows } = await fresh.db.query<{ n: number }>(`select count(*)::int as n from actp_events where tool_name = $1 and type = $2`, [tool, type]);
  return rows[0]!.n;
}

describe("at the moment of recovery", () => {
  it(`${CALLERS} concurrent callers get exactly one probe (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const tool = `race${round}.fetch`;
      await upsertCircuitConfig(fresh.db, tool, { failure_threshold: 1, recovery_probe_seconds: 30 });
      await fresh.db.query(`select public.actp_circuit_record($1, false)`, [tool]);
      // Recovery is due now: every caller below finds the probe free on its unlocked read.
      await fresh.db.query(`update actp_circuit_states set reopens_at = now() where tool_name = $1`, [tool]);

      const answers = await Promise.all(
        clients.slice(0, CALLERS).map(async (c, i) => {
          const { rows } = await c.query<{ r: { decision: string } }>(`select public.actp_circuit_acquire($1, $2) as r`, [tool, `worker-${i}`]);
          return rows[0]!.r.decision;
        }),
      );
      expect(answers.filter((d) => d === "probe"), `round ${round}: ${answers.join(",")}`).toHaveLength(1);
      expect(answers.filter((d) => d === "reject")).toHaveLength(CALLERS - 1);
      expect(await eventCount(tool, "tool.circuit_half_open")).toBe(1);
      expect(await eventCount(tool, "circuit.half_open")).toBe(1);
    }
  });

  it("an expired lease is handed to exactly one of many callers", async () => {
    const tool = "lease.fetch";
    await upsertCircuitConfig(fresh.db, tool, { failure_threshold: 1 });
    await fresh.db.query(`select public.actp_circuit_record($1, false)`, [tool]);
    await fresh.db.query(`update actp_circuit_states set reopens_at = now() where tool_name = $1`, [tool]);
    await fresh.db.query(`select public.actp_circuit_acquire($1, 'vanished')`, [tool]);
    await fresh.db.query(`update actp_circuit_states set probe_lease_expires_at = now() where tool_name = $1`, [tool]);
    const answers = await Promise.all(
      clients.slice(0, CALLERS).map(async (c) => (await c.query<{ r: { decision: string } }>(`select public.actp_circuit_acquire($1) as r`, [tool])).rows[0]!.r.decision),
    );
    expect(answers.filter((d) => d === "probe")).toHaveLength(1);
  });
});

describe("concurrent failures", () => {
  it("40 failures reported at once open the breaker exactly once", async () => {
    const tool = "burst.fetch";
    await upsertCircuitConfig(fresh.db, tool, { failure_threshold: 5, window_seconds: 60 });
    const results = await Promise.all(
      clients.map(async (c) => {
        const { rows } = await c.query<{ r: { state: string; transition: string | null } }>(
          `select public.actp_circuit_record($1, false, false, null, $2) as r`,
          [tool, JSON.stringify({ message: "upstream 503" })],
        );
        return rows[0]!.r;
      }),
    );
    expect(results.filter((r) => r.transition === "opened")).toHaveLength(1);
    // Exactly the first four saw it still closed; everything after the opening one saw it open.
    expect(results.filter((r) => r.state === "closed")).toHaveLength(4);
    expect(await eventCount(tool, "tool.circuit_open")).toBe(1);
    expect(await eventCount(tool, "circuit.open")).toBe(1);
    const { rows } = await fresh.db.query<{ state: string; n: number }>(
      `select state, cardinality(recent_failures) as n from actp_circuit_states where tool_name = $1`,
      [tool],
    );
    expect(rows[0]).toEqual({ state: "open", n: 5 });
  });

  it("concurrent probe results: only the lease holder's result moves the breaker", async () => {
    const tool = "probe.race";
    await upsertCircuitConfig(fresh.db, tool, { failure_threshold: 1 });
    await fresh.db.query(`select public.actp_circuit_record($1, false)`, [tool]);
    await fresh.db.query(`update actp_circuit_states set reopens_at = now() where tool_name = $1`, [tool]);
    const { rows } = await fresh.db.query<{ r: { decision: string; probe_id: string } }>(`select public.actp_circuit_acquire($1) as r`, [tool]);
    const probeId = rows[0]!.r.probe_id;
    // The holder succeeds while 19 stale or non-probe callers report failures at the same moment.
    const outcomes = await Promise.all(
      clients.slice(0, CALLERS).map(async (c, i) => {
        const res = i === 0
          ? await c.query<{ r: { transition: string | null } }>(`select public.actp_circuit_record($1, true, true, $2) as r`, [tool, probeId])
          : await c.query<{ r: { transition: string | null } }>(`select public.actp_circuit_record($1, false, true, gen_random_uuid()) as r`, [tool]);
        return res.rows[0]!.r.transition;
      }),
    );
    expect(outcomes.filter((t) => t === "closed")).toHaveLength(1);
    expect(await eventCount(tool, "circuit.closed")).toBe(1);
  });
});
