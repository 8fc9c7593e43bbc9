// Policy check latency and throughput (issue 5 benchmark): checkPolicy with 1, 8 and 32 concurrent
// clients, each check followed by its settle (as ctx.tool does), p50/p99 of the check alone.
// Two shapes: every client its own agent (agent-scoped budget, rate limit, allowlist), and all
// clients under one shared global budget (the worst case: every check takes the same lock).
// On PostgreSQL (DATABASE_URL) it works in a throwaway database; otherwise on embedded PGlite.
// The machine is shared: the load average is printed before and after, read the figures with it.
//
// Peers, on the same database and pool, interleaved with actp at 1 and 8 clients (issue 9): a bare
// `select 1` (the round-trip floor) and rate-limiter-flexible's RateLimiterPostgres consume (one
// upsert per call: a counter, no reservation, allowlist or approvals); actp's check alone and its
// check + settle (what ctx.tool pays) as ratios of them.
import { randomBytes, randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { startEmbeddedDatabase } from "../node/db/embedded.ts";
import { migrate } from "../node/db/migrate.ts";
import { createThrowawayDatabase } from "../node/db/throwaway.ts";
import { createPgDatabase } from "../shared/db/pg.ts";
import type { Database } from "../shared/db/types.ts";
import { checkPolicy, createPolicy, settlePolicy, type PolicyDecision } from "../shared/policy/index.ts";
import { fmt, percentile } from "./_support.ts";
import pg from "pg";
import { RateLimiterPostgres } from "rate-limiter-flexible";

const DURATION_MS = Number(process.env.ACTP_BENCH_MS ?? 3000);
const CONCURRENCY = [1, 8, 32];
// Ledger rows written for today before measuring, for EVERY bench agent (and so for the global
// budget too): a check whose cost grows with spend history shows it here. (100,000 a agent took
// over three minutes to write on this machine; the counters make the check independent of it.)
const LEDGER_ROWS = Number(process.env.ACTP_BENCH_LEDGER_ROWS ?? 20_000);
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

async function target(): Promise<{ label: string; url: string; close(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
    await migrate(embedded.url);
    return { label: "embedded PGlite", url: embedded.url, close: () => embedded.stop() };
  }
  const t = await createThrowawayDatabase(base, "bench_policy");
  return { label: "PostgreSQL (DATABASE_URL, throwaway database)", url: t.url, close: () => t.drop() };
}

async function agent(db: Database, withPolicies: boolean): Promise<string> {
  const slug = `bench-${randomBytes(4).toString("hex")}`;
  await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  if (withPolicies) {
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1e6, per_run_usd: 1e5 } });
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "rate_limit", config: { tool: "web.fetch", max_per_minute: 1_000_000 } });
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "allowlist", config: { allowed_domains: ["github.com", "docs.*", "*.vercel.app"] } });
  }
  return slug;
}

/** Settled spend history for today, as if each agent had already made `rows` paid calls. */
async function prefillLedger(db: Database, slugs: string[], rows: number): Promise<void> {
  if (rows <= 0) return;
  await db.query(
    `insert into public.actp_budget_ledger (agent_slug, tool_name, action_type, cost_usd, run_id, created_at)
     select s.slug, 'web.fetch', 'network_read', 0.000001, gen_random_uuid(), now() - (g % 3600) * interval '1 second'
     from unnest($1::text[]) s(slug), generate_series(1, $2::int) g`,
    [slugs, rows],
  );
  await db.query(`analyze public.actp_budget_ledger`);
}

async function measure(db: Database, slugs: string[], clients: number, ms = DURATION_MS) {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const slug = slugs[i % slugs.length]!;
      const run = randomUUID();
      while (performance.now() < end) {
        const t = performance.now();
        const d = await checkPolicy(db, {
          agent_slug: slug,
          tool_name: "web.fetch",
          action_type: "network_read",
          run_id: run,
          estimated_cost_usd: 0.001,
          target_url: "https://docs.python.org/3/library/",
        });
        latencies.push(performance.now() - t);
        if (!d.allowed) throw new Error(`bench: unexpected denial ${JSON.stringify(d)}`);
        await settlePolicy(db, d.reservation_id, 0.0005);
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { perSec: (latencies.length / elapsed) * 1000, p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length };
}

/**
 * Server time of each function, one call at a time: clock_timestamp() read before and after the
 * call inside the statement, so neither the network nor the client counts. The figure to compare
 * with `select 1` when a change to the SQL is judged; the concurrent rows also measure the machine.
 */
async function serverTime(db: Database, slug: string, calls: number) {
  const timed = (call: string) =>
    `select extract(epoch from (clock_timestamp() - a.t0)) * 1000 as ms, b.r
     from (select clock_timestamp() as t0) a, lateral (select ${call} as r offset 0) b`;
  const check: number[] = [];
  const settle: number[] = [];
  const run = randomUUID();
  for (let i = 0; i < calls; i++) {
    const c = await db.query<{ ms: number; r: PolicyDecision }>(
      timed(`public.actp_policy_check($1::text, 'web.fetch', 'network_read', $2::uuid, 0.001, 'https://docs.python.org/3/library/')`),
      [slug, run],
    );
    if (!c.rows[0]!.r.allowed) throw new Error(`bench: unexpected denial ${JSON.stringify(c.rows[0]!.r)}`);
    const s = await db.query<{ ms: number }>(timed(`public.actp_policy_settle($1::uuid, 0.0005)`), [c.rows[0]!.r.reservation_id]);
    check.push(Number(c.rows[0]!.ms));
    settle.push(Number(s.rows[0]!.ms));
  }
  check.sort((a, b) => a - b);
  settle.sort((a, b) => a - b);
  return { check, settle };
}

/**
 * Calls per second and p50/p99 of one operation run back to back by `clients` callers. An op that
 * resolves with a number reports that as its latency (the part of it being measured).
 */
async function loop(clients: number, ms: number, op: (client: number) => Promise<unknown>) {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      while (performance.now() < end) {
        const t = performance.now();
        const own = await op(i);
        latencies.push(typeof own === "number" ? own : performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { perSec: (latencies.length / (performance.now() - started)) * 1000, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function peers(url: string, db: Database, slugs: string[]): Promise<void> {
  if (url.startsWith("postgres") === false) return;
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  const limiter = await new Promise<RateLimiterPostgres>((resolve, reject) => {
    const l: RateLimiterPostgres = new RateLimiterPostgres(
      { storeClient: pool, tableName: "rlf_bench", points: 1_000_000_000, duration: 60, keyPrefix: "bench" },
      (err?: Error) => (err ? reject(err) : resolve(l)),
    );
  });
  const runs = slugs.map(() => randomUUID());
  const check = (i: number) =>
    checkPolicy(db, {
      agent_slug: slugs[i % slugs.length]!,
      tool_name: "web.fetch",
      action_type: "network_read",
      run_id: runs[i % runs.length]!,
      estimated_cost_usd: 0.001,
      target_url: "https://docs.python.org/3/library/",
    });
  const ops: [string, (i: number) => Promise<unknown>][] = [
    ["select 1", () => pool.query("select 1")],
    ["rate-limiter-flexible consume", (i) => limiter.consume(`key-${i}`)],
    ["actp check", async (i) => {
      const t0 = performance.now();
      const d = await check(i);
      const ms = performance.now() - t0;
      // Settled (untimed) so reservations do not pile up over the run.
      if (d.allowed) await settlePolicy(db, d.reservation_id, 0.0005);
      return ms;
    }],
    ["actp check + settle", async (i) => {
      const d = await check(i);
      if (!d.allowed) throw new Error(`bench: unexpected denial ${JSON.stringify(d)}`);
      await settlePolicy(db, d.reservation_id, 0.0005);
    }],
  ];
  const ROUNDS = 3;
  const ms = Math.max(500, Math.round(DURATION_MS / ROUNDS));
  console.log(`\npeers, same database, interleaved (${ROUNDS} rounds of ${ms} ms per row), p50 of the rounds' p50s:`);
  for (const clients of [1, 8]) {
    const p50s = new Map<string, number[]>(ops.map(([n]) => [n, []]));
    const rates = new Map<string, number[]>(ops.map(([n]) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < ops.length; k++) {
        const [name, op] = ops[(k + round) % ops.length]!;
        const r = await loop(clients, ms, op);
        p50s.get(name)!.push(r.p50);
        rates.get(name)!.push(r.perSec);
      }
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rlf = med(p50s.get("rate-limiter-flexible consume")!);
    const floor = med(p50s.get("select 1")!);
    console.log(`  ${clients} client(s)                     p50 ms    calls/s   vs rate-limiter-flexible   vs select 1`);
    for (const [name] of ops) {
      const p = med(p50s.get(name)!);
      console.log(
        `    ${name.padEnd(30)} ${fmt(p, 3).padStart(7)} ${fmt(med(rates.get(name)!)).padStart(10)}   ${fmt(p / rlf, 2).padStart(8)}x   ${fmt(p / floor, 2).padStart(8)}x`,
      );
    }
  }
  console.log("  aim: actp check + settle within 3x of rate-limiter-flexible's consume at 8 clients");
  await pool.end();
}

const t = await target();
console.log(`policy bench on ${t.label}, ${DURATION_MS} ms per row; load average ${load()}`);
const db = createPgDatabase({ connectionString: t.url, max: Math.max(...CONCURRENCY) });
try {
  const own = await Promise.all(Array.from({ length: Math.max(...CONCURRENCY) }, () => agent(db, true)));
  const shared = await agent(db, false);
  const t0 = performance.now();
  await prefillLedger(db, [...own, shared], LEDGER_ROWS);
  console.log(`ledger prefilled: ${fmt(LEDGER_ROWS)} rows today for each of ${own.length + 1} agents (${fmt(performance.now() - t0)} ms)`);
  // Warm-up at the highest concurrency, every agent: all pool connections open with their plans
  // cached, and each policy's first check of the day (which builds its counters from the ledger)
  // done. A new backend's first check costs milliseconds; that belongs to no row below.
  await measure(db, own, own.length, 1500);
  const st = await serverTime(db, own[0]!, 2000);
  console.log("server time, one call at a time (budget + rate limit + allowlist), 2,000 calls:");
  for (const [name, ms] of [["actp_policy_check", st.check], ["actp_policy_settle", st.settle]] as const) {
    console.log(`  ${name.padEnd(20)} p50 ${fmt(percentile(ms, 50), 3)} ms   p99 ${fmt(percentile(ms, 99), 3)} ms`);
  }
  console.log("shape                       clients   checks/s   p50 ms   p99 ms");
  for (const clients of CONCURRENCY) {
    const r = await measure(db, own.slice(0, clients), clients);
    console.log(`per-agent policies          ${String(clients).padStart(7)} ${fmt(r.perSec).padStart(10)} ${fmt(r.p50, 2).padStart(8)} ${fmt(r.p99, 2).padStart(8)}`);
  }
  const g = await createPolicy(db, { scope: "global", policy_type: "budget", config: { daily_usd: 1e6 } });
  await measure(db, [shared], Math.max(...CONCURRENCY), 1000); // the global budget's counters, built once
  for (const clients of CONCURRENCY) {
    const r = await measure(db, [shared], clients);
    console.log(`one shared global budget    ${String(clients).padStart(7)} ${fmt(r.perSec).padStart(10)} ${fmt(r.p50, 2).padStart(8)} ${fmt(r.p99, 2).padStart(8)}`);
  }
  await db.query(`delete from public.actp_policies where id = $1`, [g.id]);
  await peers(t.url, db, own.slice(0, 8));
  console.log(`load average after: ${load()}`);
} finally {
  await db.end();
  await t.close();
}
