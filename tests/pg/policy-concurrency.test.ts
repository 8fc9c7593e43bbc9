// The policy service's concurrency claims, on real PostgreSQL with 50 separate connections:
// budgets never overspend, rate limits admit exactly their limit, an approval passes once.
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../shared/db/types.ts";
import { checkPolicy, createPolicy, decideApproval, settlePolicy, type PolicyDecision } from "../../shared/policy/index.ts";
import { clientQueryable, freshPgDatabase, parallelClients, type FreshDatabase } from "../support/pg.ts";

const CLIENTS = 50;
let fresh: FreshDatabase;
let clients: pg.Client[] = [];

const asQueryable = clientQueryable;

async function agent(): Promise<string> {
  const slug = `conc-${randomBytes(4).toString("hex")}`;
  await fresh.db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  return slug;
}

beforeAll(async () => {
  fresh = await freshPgDatabase("policy_concurrency");
  clients = await parallelClients(fresh.url, CLIENTS, "actp-policy-race");
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await fresh?.drop();
});

/** Every client starts its work at the same moment (as far as the event loop allows). */
async function race<T>(fn: (q: Queryable, i: number) => Promise<T>): Promise<T[]> {
  let go!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  const runs = clients.map(async (c, i) => {
    await gate;
    return fn(asQueryable(c), i);
  });
  go();
  return Promise.all(runs);
}

describe("budget under 50 concurrent clients", () => {
  it("settled spend never exceeds daily_usd or per_run_usd when each actual ≤ its estimate", async () => {
    const slug = await agent();
    const DAILY = 2;
    const PER_RUN = 0.35;
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: DAILY, per_run_usd: PER_RUN } });
    const runs = Array.from({ length: 10 }, () => randomUUID());
    let admitted = 0;
    let refused = 0;
    await race(async (q, i) => {
      for (let k = 0; k < 12; k++) {
        const estimate = Number((0.01 + Math.random() * 0.09).toFixed(4));
        const d: PolicyDecision = await checkPolicy(q, {
          agent_slug: slug,
          tool_name: "llm.call",
          action_type: "llm",
          run_id: runs[(i + k) % runs.length]!,
          estimated_cost_usd: estimate,
        });
        if (d.allowed) {
          admitted++;
          // Settle at or below the estimate, sometimes exactly at it.
          const actual = k % 3 === 0 ? estimate : Number((estimate * Math.random()).toFixed(4));
          await settlePolicy(q, d.reservation_id, actual);
        } else {
          refused++;
          expect(d.reason).toBe("budget_exceeded");
        }
      }
    });
    const { rows } = await fresh.db.query<{ total: string; max_run: string; open: number }>(
      `select (select coalesce(sum(cost_usd), 0) from public.actp_budget_ledger where agent_slug = $1) as total,
              (select coalesce(max(s), 0) from (select sum(cost_usd) s from public.actp_budget_ledger where agent_slug = $1 group by run_id) x) as max_run,
              (select count(*)::int from public.actp_policy_reservations where agent_slug = $1 and status = 'reserved') as open`,
      [slug],
    );
    const total = Number(rows[0]!.total);
    expect(total).toBeLessThanOrEqual(DAILY);
    expect(Number(rows[0]!.max_run)).toBeLessThanOrEqual(PER_RUN);
    expect(rows[0]!.open).toBe(0);
    // The counters the checks read were kept exact by 50 racing checks and settles.
    expect((await fresh.db.query(`select * from public.actp_policy_counter_drift()`)).rows).toEqual([]);
    // The limit was actually contended: plenty of refusals, and spend came close to the runs' cap.
    expect(refused).toBeGreaterThan(100);
    expect(admitted).toBeGreaterThan(20);
  });

  it("reservations alone never exceed the limit (no settles in between)", async () => {
    const slug = await agent();
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1 } });
    const decisions = await race((q) =>
      checkPolicy(q, { agent_slug: slug, tool_name: "llm.call", action_type: "llm", estimated_cost_usd: 0.07 }),
    );
    // floor(1 / 0.07) = 14: exactly that many fit.
    expect(decisions.filter((d) => d.allowed)).toHaveLength(14);
    expect((await fresh.db.query(`select * from public.actp_policy_counter_drift()`)).rows).toEqual([]);
  });
});

describe("rate limit under 50 concurrent clients", () => {
  it("admits exactly max_per_minute of 50 simultaneous calls, and again none in the same minute", async () => {
    const slug = await agent();
    const tool = `rl.${randomBytes(3).toString("hex")}`;
    const pol = await createPolicy(fresh.db, { scope: "global", policy_type: "rate_limit", config: { tool, max_per_minute: 7 } });
    const first = await race((q) => checkPolicy(q, { agent_slug: slug, tool_name: tool, action_type: "network_read" }));
    expect(first.filter((d) => d.allowed)).toHaveLength(7);
    for (const d of first.filter((x) => !x.allowed)) {
      expect(d).toMatchObject({ reason: "rate_limited", policy_id: pol.id });
      if (!d.allowed) expect(d.retry_after).toBeGreaterThanOrEqual(1);
    }
    const second = await race((q) => checkPolicy(q, { agent_slug: slug, tool_name: tool, action_type: "network_read" }));
    expect(second.filter((d) => d.allowed)).toHaveLength(0);
    // No 60-second window over the recorded calls holds more than the limit.
    const { rows } = await fresh.db.query<{ worst: number }>(
      `select max((select count(*) from public.actp_rate_limit_calls c2
                   where c2.policy_id = c.policy_id and c2.called_at > c.called_at - interval '60 seconds' and c2.called_at <= c.called_at))::int as worst
       from public.actp_rate_limit_calls c where c.policy_id = $1`,
      [pol.id],
    );
    expect(rows[0]!.worst).toBe(7);
  });
});

describe("approval under 50 concurrent clients", () => {
  it("an approved call passes exactly once", async () => {
    const slug = await agent();
    const tool = `ops.${randomBytes(3).toString("hex")}`;
    await createPolicy(fresh.db, { scope: `tool:${tool}`, policy_type: "safety", config: { require_approval_for: ["network_write"] } });
    const call = { agent_slug: slug, tool_name: tool, action_type: "network_write", run_id: randomUUID(), args_hash: "sha256:deadbeef" };
    // 50 simultaneous first asks share one pending request.
    const asks = await race((q) => checkPolicy(q, call));
    const ids = new Set(asks.map((d) => (d.allowed ? null : (d.details as { approval_id: string }).approval_id)));
    expect(ids.size).toBe(1);
    const approvalId = [...ids][0]!;
    await decideApproval(fresh.db, approvalId, "approve", "ops@example.com");
    const decisions = await race((q) => checkPolicy(q, call));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(1);
    for (const d of decisions.filter((x) => !x.allowed)) expect(d).toMatchObject({ reason: "approval_required" });
    const { rows } = await fresh.db.query<{ status: string; n: number }>(
      `select status, count(*)::int as n from public.actp_policy_approvals where tool_name = $1 group by status order by status`,
      [tool],
    );
    expect(rows).toEqual([
      { status: "consumed", n: 1 },
      { status: "pending", n: 1 },
    ]);
  });
});

describe("run counter pruning beside a check in flight", () => {
  it("skips a policy a check holds (its counter is read, about to be written) and prunes it afterwards", async () => {
    const slug = await agent();
    const pol = await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { per_run_usd: 1 } });
    const run = randomUUID();
    await fresh.db.query(
      `insert into public.actp_policy_budget_runs (policy_id, run_id, created_at, updated_at)
       values ($1, $2, now() - interval '3 days', now() - interval '2 days')`,
      [pol.id, run],
    );
    const holder = clients[0]!;
    const pruner = clients[1]!;
    const rows = async () =>
      (await fresh.db.query(`select 1 from public.actp_policy_budget_runs where policy_id = $1 and run_id = $2`, [pol.id, run])).rows.length;
    // The lock a check takes before it reads the run's counter.
    await holder.query("begin");
    await holder.query(`select 1 from public.actp_policies where id = $1 for no key update`, [pol.id]);
    try {
      // Must neither wait for the check nor delete the row under it.
      await pruner.query(`set statement_timeout = 5000`);
      await pruner.query(`select public.actp_policy_expire_reservations()`);
      expect(await rows()).toBe(1);
    } finally {
      await holder.query("commit");
      await pruner.query(`reset statement_timeout`);
    }
    await pruner.query(`select public.actp_policy_expire_reservations()`);
    expect(await rows()).toBe(0);
  });
});
