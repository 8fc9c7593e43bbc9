// The flag hash and evaluation on real PostgreSQL 15 agree with the TypeScript evaluator (the db tier
// proves the same on PGlite): pg 15's sha256/convert_to/bit casts must give the same buckets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FlagEvaluation } from "../../shared/flags/contracts.ts";
import { evaluateFlag, flagBucket } from "../../shared/flags/evaluate.ts";
import { createFlag, getFlag } from "../../shared/flags/queries.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

let fresh: FreshDatabase;
beforeAll(async () => {
  fresh = await freshPgDatabase("flags_parity", { poolSize: 2 });
});
afterAll(() => fresh?.drop());

const SAMPLES = ["研究者", "agënt", "e\u0301", "😀🚀", "عامل", "O'Brien", "tab\there", "Ångström", "ß", "\u{10FFFF}"];
const idFor = (i: number) => (i % 3 === 0 ? `${SAMPLES[i % SAMPLES.length]}-${i}` : `agent-${i}`);

describe("flags on PostgreSQL 15", () => {
  it("SQL and TypeScript agree on 10,000 ids in one query", async () => {
    const db = fresh.db;
    const flagKey = "pg.parity";
    await createFlag(db, { flag_key: flagKey, description: "", enabled: true, rollout_pct: 63, target_ids: ["agent-10", "研究者-0"], expires_at: null });
    const contexts = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? { agent: idFor(i) } : { user: idFor(i), tenant_id: `t-${i % 7}` }));
    const { rows } = await db.query<{ e: FlagEvaluation; b: number }>(
      `select public.actp_flag_evaluate($1, c) as e, public.actp_flag_bucket($1, coalesce(c ->> 'agent', c ->> 'user')) as b
         from jsonb_array_elements($2::jsonb) with ordinality as t(c, ord) order by ord`,
      [flagKey, JSON.stringify(contexts)],
    );
    const row = await getFlag(db, flagKey);
    const now = new Date();
    const ts = await Promise.all(contexts.map((c) => evaluateFlag(flagKey, row, c, now)));
    const buckets = await Promise.all(contexts.map((c: { agent?: string; user?: string }) => flagBucket(flagKey, c.agent ?? c.user!)));
    expect(rows.map((r) => r.b)).toEqual(buckets);
    const differ = rows.filter((r, i) => r.e.enabled !== ts[i]!.enabled || r.e.reason !== ts[i]!.reason || r.e.bucket !== ts[i]!.bucket);
    expect(differ).toEqual([]);
    expect(new Set(rows.map((r) => r.e.reason))).toEqual(new Set(["rollout", "targeted"]));
  });

  it("raising rollout_pct never turns the flag off (1,000 ids x every step)", async () => {
    const { rows } = await fresh.db.query<{ turned_off: string }>(
      `with ids as (select 'agent-' || g as id from generate_series(1, 1000) g),
            e as (select id, p, (public.actp_flag_decide('pg.mono', true, true, p, '{}', null, jsonb_build_object('agent', id), now()) ->> 'enabled')::boolean as on
                    from ids, generate_series(0, 100) p)
       select count(*) filter (where a.on and not b.on) as turned_off from e a join e b on b.id = a.id and b.p = a.p + 1`,
    );
    expect(rows[0]!.turned_off).toBe("0");
  });
});
