import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { FlagCache, flagsFor, isEnabled as isEnabledInDb } from "../../shared/flags/client.ts";
import type { FlagEvaluation } from "../../shared/flags/contracts.ts";
import { evaluateFlag, flagBucket } from "../../shared/flags/evaluate.ts";
import { createFlag, getFlag, updateFlag } from "../../shared/flags/queries.ts";
import { asRoleRolledBack, testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());

const key = (label: string) => `sqltest.${label}.${randomBytes(3).toString("hex")}`;

// Ids in many scripts and shapes: combining marks, emoji (astral), RTL, quotes, whitespace.
const SAMPLES = ["研究者", "agënt", "e\u0301", "😀🚀", "عامل", "O'Brien \"x\"", "tab\there", "Ångström", "Ωmega", "ß"];
const idFor = (i: number) => (i % 4 === 0 ? `${SAMPLES[i % SAMPLES.length]}-${i}` : `agent-${i}`);

describe("SQL and TypeScript evaluate identically", () => {
  it("on 10,000 ids (ASCII and not), contexts of every shape, in one query", async () => {
    const flagKey = key("parity");
    const targets = ["agent-7", "研究者-0", "tenant-42"];
    await createFlag(db, { flag_key: flagKey, description: "", enabled: true, rollout_pct: 37, target_ids: targets, expires_at: null });
    const contexts = Array.from({ length: 10_000 }, (_, i) => {
      const id = idFor(i);
      switch (i % 6) {
        case 0: return { agent: id };
        case 1: return { user: id };
        case 2: return { agent: "", user: id, plan: { tier: i % 3 } };
        case 3: return { user: id, tenant_id: i % 60 === 3 ? "tenant-42" : `tenant-${i}` };
        case 4: return { agent: id, user: `u-${i}`, count: i };
        default: return i % 12 === 5 ? {} : { tenant_id: `t-${i}` };
      }
    });
    const { rows } = await db.query<{ e: FlagEvaluation }>(
      `select public.actp_flag_evaluate($1, c) as e
         from jsonb_array_elements($2::jsonb) with ordinality as t(c, ord)
        order by ord`,
      [flagKey, JSON.stringify(contexts)],
    );
    expect(rows).toHaveLength(10_000);
    const row = await getFlag(db, flagKey);
    const now = new Date();
    const ts = await Promise.all(contexts.map((c) => evaluateFlag(flagKey, row, c, now)));
    const mismatches = rows.map((r, i) => ({ i, sql: r.e, ts: ts[i] })).filter((x) => JSON.stringify(sortKeys(x.sql)) !== JSON.stringify(sortKeys(x.ts!)));
    expect(mismatches.slice(0, 5)).toEqual([]);
    // Every path was exercised, so the agreement means something.
    const reasons = new Set(rows.map((r) => r.e.reason));
    expect([...reasons].sort()).toEqual(["no_stickiness_id", "rollout", "targeted"]);
    const on = rows.filter((r) => r.e.reason === "rollout" && r.e.enabled).length;
    const total = rows.filter((r) => r.e.reason === "rollout").length;
    expect(Math.abs(on / total - 0.37)).toBeLessThan(0.03);
  });

  it("the raw bucket: actp_flag_bucket equals flagBucket on 10,000 ids", async () => {
    const flagKey = key("bucket");
    const ids = Array.from({ length: 10_000 }, (_, i) => idFor(i));
    const { rows } = await db.query<{ b: number }>(
      `select public.actp_flag_bucket($1, id) as b from unnest($2::text[]) with ordinality as t(id, ord) order by ord`,
      [flagKey, ids],
    );
    const ts = await Promise.all(ids.map((id) => flagBucket(flagKey, id)));
    expect(rows.map((r) => r.b)).toEqual(ts);
  });

  it("raising rollout_pct never turns the flag off for an id (SQL, 300 ids x every step)", async () => {
    const flagKey = key("mono");
    const ids = Array.from({ length: 300 }, (_, i) => idFor(i));
    const { rows } = await db.query<{ turned_off: string; on_at_0: string; on_at_100: string }>(
      `with e as (
         select id, p, (public.actp_flag_decide($1, true, true, p, '{}', null, jsonb_build_object('agent', id), now()) ->> 'enabled')::boolean as on
           from unnest($2::text[]) id, generate_series(0, 100) p)
       select count(*) filter (where a.on and not b.on) as turned_off,
              count(*) filter (where a.p = 0 and a.on) as on_at_0,
              count(*) filter (where b.p = 100 and b.on) as on_at_100
         from e a join e b on b.id = a.id and b.p = a.p + 1`,
      [flagKey, ids],
    );
    expect(rows[0]).toEqual({ turned_off: "0", on_at_0: "0", on_at_100: "300" });
  });
});

function sortKeys(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

describe("actp_flag_enabled", () => {
  it("unknown → false; disabled → false; expired → false; targeted → true; no stickiness id → only at 100", async () => {
    const on = key("on");
    const off = key("off");
    const old = key("old");
    await db.query(
      `insert into actp_feature_flags (flag_key, enabled, rollout_pct, target_ids, expires_at) values
         ($1, true, 0, '{vip}', null), ($2, false, 100, '{vip}', null), ($3, true, 100, '{vip}', now() - interval '1 second')`,
      [on, off, old],
    );
    const q = async (k: string, ctx: unknown) =>
      (await db.query<{ v: boolean }>(`select public.actp_flag_enabled($1, $2::jsonb) as v`, [k, JSON.stringify(ctx)])).rows[0]!.v;
    expect(await q(key("nope"), { agent: "vip" })).toBe(false);
    expect(await q(on, { agent: "vip" })).toBe(true);
    expect(await q(on, { agent: "someone" })).toBe(false);
    expect(await q(off, { agent: "vip" })).toBe(false);
    expect(await q(old, { agent: "vip" })).toBe(false);
    await updateFlag(db, on, { rollout_pct: 100 });
    expect(await q(on, {})).toBe(true);
    expect((await db.query<{ v: boolean }>(`select public.actp_flag_enabled($1, null) as v`, [on])).rows[0]!.v).toBe(true);
    await updateFlag(db, on, { rollout_pct: 99 });
    expect(await q(on, {})).toBe(false);
    await expect(q(on, ["agent"])).rejects.toThrow(/^flags\.invalid_context/);
  });
});

describe("actp_feature_flags constraints", () => {
  const insert = (k: string, pct: unknown = 0, targets: unknown = "{}") =>
    db.query(`insert into actp_feature_flags (flag_key, rollout_pct, target_ids) values ($1, $2, $3)`, [k, pct, targets]);

  it("refuses rollout_pct outside 0-100, malformed keys, empty or null targets, duplicates", async () => {
    await expect(insert(key("hi"), 101)).rejects.toMatchObject({ code: "23514" });
    await expect(insert(key("lo"), -1)).rejects.toMatchObject({ code: "23514" });
    await expect(insert("Bad Key")).rejects.toMatchObject({ code: "23514" });
    await expect(insert("a:b")).rejects.toMatchObject({ code: "23514" });
    await expect(insert(key("empty"), 0, "{\"\"}")).rejects.toMatchObject({ code: "23514" });
    await expect(insert(key("null"), 0, "{x,NULL}")).rejects.toMatchObject({ code: "23514" });
    const k = key("dup");
    await insert(k);
    await expect(insert(k)).rejects.toMatchObject({ code: "23505" });
  });

  it("defaults: disabled, 0%, no targets; updated_at moves on update", async () => {
    const k = key("defaults");
    const { rows } = await db.query<{ enabled: boolean; rollout_pct: number; target_ids: string[]; created_at: Date; updated_at: Date }>(
      `insert into actp_feature_flags (flag_key, created_at, updated_at) values ($1, now() - interval '1 hour', now() - interval '1 hour') returning *`,
      [k],
    );
    expect(rows[0]).toMatchObject({ enabled: false, rollout_pct: 0, target_ids: [] });
    const after = await updateFlag(db, k, { enabled: true });
    expect(Date.parse(after!.updated_at)).toBeGreaterThan(rows[0]!.updated_at.getTime());
  });
});

describe("row level security", () => {
  it("anon can neither read nor evaluate", async () => {
    await expect(asRoleRolledBack(db, "anon", (tx) => tx.query(`select * from actp_feature_flags`))).rejects.toMatchObject({ code: "42501" });
    await expect(asRoleRolledBack(db, "anon", (tx) => tx.query(`select public.actp_flag_enabled('x', '{}')`))).rejects.toMatchObject({ code: "42501" });
  });

  it("viewers read and evaluate, a plain user sees no flag (its evaluation goes through the function), none can write", async () => {
    const k = key("rls");
    await createFlag(db, { flag_key: k, description: "", enabled: true, rollout_pct: 100, target_ids: ["tenant-secret"], expires_at: null });
    const enabledAs = (who: "viewer" | "authenticated") =>
      asRoleRolledBack<boolean>(db, who, async (tx) => (await tx.query<{ v: boolean }>(`select public.actp_flag_enabled($1, '{"agent":"a"}') as v`, [k])).rows[0]!.v);
    expect(await enabledAs("viewer")).toBe(true);
    expect(await enabledAs("authenticated")).toBe(false);
    const targets = await asRoleRolledBack<unknown[]>(db, "authenticated", async (tx) => (await tx.query(`select target_ids from actp_feature_flags where flag_key = $1`, [k])).rows);
    expect(targets).toEqual([]);
    await expect(asRoleRolledBack(db, "authenticated", (tx) => tx.query(`update actp_feature_flags set enabled = false where flag_key = $1`, [k]))).rejects.toMatchObject({ code: "42501" });
    await expect(asRoleRolledBack(db, "authenticated", (tx) => tx.query(`insert into actp_feature_flags (flag_key) values ($1)`, [key("x")]))).rejects.toMatchObject({ code: "42501" });
    await expect(asRoleRolledBack(db, "authenticated", (tx) => tx.query(`delete from actp_feature_flags where flag_key = $1`, [k]))).rejects.toMatchObject({ code: "42501" });
  });

  it("the service role writes", async () => {
    const k = key("svc");
    const n = await asRoleRolledBack<number>(db, "service_role", async (tx) =>
      (await tx.query(`insert into actp_feature_flags (flag_key) values ($1)`, [k])).rowCount ?? 0);
    expect(n).toBe(1);
  });
});

describe("db-backed isEnabled and ctx.flags", () => {
  it("reads the current row on every call without a cache", async () => {
    const k = key("live");
    await createFlag(db, { flag_key: k, description: "", enabled: true, rollout_pct: 100, target_ids: [], expires_at: null });
    expect(await isEnabledInDb(db, k, { agent: "a" })).toBe(true);
    await updateFlag(db, k, { enabled: false });
    expect(await isEnabledInDb(db, k, { agent: "a" })).toBe(false);
    expect(await isEnabledInDb(db, key("unknown"), { agent: "a" })).toBe(false);
  });

  it("with a cache, a change is seen once the ttl has passed, and unknown flags are cached too", async () => {
    let clock = 1_000;
    const cache = new FlagCache({ ttlMs: 5_000, now: () => clock });
    const k = key("cached");
    await createFlag(db, { flag_key: k, description: "", enabled: true, rollout_pct: 100, target_ids: [], expires_at: null });
    const missing = key("later");
    expect(await isEnabledInDb(db, k, { agent: "a" }, { cache })).toBe(true);
    expect(await isEnabledInDb(db, missing, { agent: "a" }, { cache })).toBe(false);
    await updateFlag(db, k, { enabled: false });
    await createFlag(db, { flag_key: missing, description: "", enabled: true, rollout_pct: 100, target_ids: [], expires_at: null });
    clock += 4_999;
    expect(await isEnabledInDb(db, k, { agent: "a" }, { cache })).toBe(true);
    expect(await isEnabledInDb(db, missing, { agent: "a" }, { cache })).toBe(false);
    clock += 1;
    expect(await isEnabledInDb(db, k, { agent: "a" }, { cache })).toBe(false);
    expect(await isEnabledInDb(db, missing, { agent: "a" }, { cache })).toBe(true);
  });

  it("flagsFor binds a job's context: targeting by job_id, stickiness by agent", async () => {
    const k = key("ctx");
    const jobId = "5f8e2a1c-0000-4000-8000-000000000001";
    await createFlag(db, { flag_key: k, description: "", enabled: true, rollout_pct: 0, target_ids: [jobId], expires_at: null });
    const flags = flagsFor(db, { agent: "researcher", job_id: jobId });
    expect(await flags.isEnabled(k)).toBe(true);
    expect(await flags.evaluate(k)).toEqual({ flag_key: k, enabled: true, reason: "targeted" });
    const other = flagsFor(db, { agent: "researcher", job_id: "another" });
    expect(await other.evaluate(k)).toMatchObject({ enabled: false, reason: "rollout", bucket: await flagBucket(k, "researcher") });
  });
});
