// Issue 8 §6, budgets that cannot be outrun, on real PostgreSQL with separate connections: a check
// reserves at least the tool's recent actual cost or the policy's min_reservation_usd, so estimates
// of 0 racing each other cannot all pass; an overrun is recorded with its reservation and blocks
// the next checks; the spend report lists it.
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../shared/db/types.ts";
import { checkPolicy, createPolicy, settlePolicy, spendOverruns, type PolicyDecision } from "../../shared/policy/index.ts";
import { clientQueryable, freshPgDatabase, parallelClients, type FreshDatabase } from "../support/pg.ts";

const N = 8;
let fresh: FreshDatabase;
let clients: pg.Client[] = [];

const asQueryable = clientQueryable;

async function agent(): Promise<string> {
  const slug = `floor-${randomBytes(4).toString("hex")}`;
  await fresh.db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  return slug;
}

beforeAll(async () => {
  fresh = await freshPgDatabase("policy_budget_floor");
  clients = await parallelClients(fresh.url, N, "actp-budget-floor");
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => {})));
  await fresh?.drop();
});

/** N checks on N connections, released at once. */
async function race(req: { agent_slug: string; tool_name: string; run_id?: string }): Promise<PolicyDecision[]> {
  let go!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  const runs = clients.map(async (c) => {
    await gate;
    return checkPolicy(asQueryable(c), { action_type: "llm", estimated_cost_usd: 0, ...req });
  });
  go();
  return Promise.all(runs);
}

async function drift(): Promise<unknown[]> {
  return (await fresh.db.query(`select * from public.actp_policy_counter_drift()`)).rows;
}

/** One call that settles `cost`: what teaches the floor. */
async function spend(slug: string, tool: string, cost: number, run_id?: string): Promise<void> {
  const d = await checkPolicy(fresh.db, { agent_slug: slug, tool_name: tool, action_type: "llm", estimated_cost_usd: 0, run_id });
  if (!d.allowed) throw new Error(`expected an allowed check, got ${JSON.stringify(d)}`);
  await settlePolicy(fresh.db, d.reservation_id, cost);
}

describe("estimates of 0 racing on a budget", () => {
  it("after a 9 USD settle, 8 concurrent checks of a 10 USD per-run budget: exactly one passes, holding 9", async () => {
    const slug = await agent();
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 1000, per_run_usd: 10 } });
    await spend(slug, "llm.call", 9, randomUUID());
    const run = randomUUID();
    const decisions = await race({ agent_slug: slug, tool_name: "llm.call", run_id: run });
    const ok = decisions.filter((d) => d.allowed);
    expect(ok).toHaveLength(1);
    expect(ok[0]).toMatchObject({ reserved_usd: 9 });
    for (const d of decisions.filter((x) => !x.allowed)) {
      expect(d).toMatchObject({ reason: "budget_exceeded", details: { limit: "per_run_usd", estimated_usd: 0, reserved_usd: 9 } });
    }
    // The one admitted call spends what the tool costs: the run stays within its budget.
    if (ok[0]!.allowed) await settlePolicy(fresh.db, ok[0]!.reservation_id, 9);
    const { rows } = await fresh.db.query<{ total: string }>(`select sum(cost_usd) as total from public.actp_budget_ledger where run_id = $1`, [run]);
    expect(Number(rows[0]!.total)).toBe(9);
    expect(await drift()).toEqual([]);
  });

  it("after a 9 USD settle, 8 concurrent checks of a 10 USD daily budget: none passes (9 + 9 > 10)", async () => {
    const slug = await agent();
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10 } });
    await spend(slug, "llm.call", 9);
    const decisions = await race({ agent_slug: slug, tool_name: "llm.call" });
    // Before the floor, all 8 passed (9 + 0 ≤ 10) and could each spend 9.
    expect(decisions.filter((d) => d.allowed).length).toBeLessThanOrEqual(1);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(0);
    expect(await drift()).toEqual([]);
  });

  it("no history, min_reservation_usd 5 under 10 USD daily: at most two of 8 pass", async () => {
    const slug = await agent();
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10, min_reservation_usd: 5 } });
    const decisions = await race({ agent_slug: slug, tool_name: `t.${randomBytes(3).toString("hex")}` });
    const ok = decisions.filter((d) => d.allowed);
    expect(ok).toHaveLength(2);
    for (const d of ok) expect(d).toMatchObject({ reserved_usd: 5 });
    const { rows } = await fresh.db.query<{ reserved: string }>(
      `select sum(amount_usd) as reserved from public.actp_policy_reservations where agent_slug = $1 and status = 'reserved'`,
      [slug],
    );
    expect(Number(rows[0]!.reserved)).toBe(10);
    expect(await drift()).toEqual([]);
  });
});

describe("a tool never settled, estimates of 0 (the finding: three such calls each settled 9 under 10 USD)", () => {
  it("one probe passes; its racing twins are denied cost_unknown with a short retry_after; after its settle the floor holds", async () => {
    const slug = await agent();
    const tool = `t.${randomBytes(3).toString("hex")}`;
    const pol = await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10 } });
    const first = await race({ agent_slug: slug, tool_name: tool });
    const ok = first.filter((d) => d.allowed);
    expect(ok).toHaveLength(1);
    const denied = first.filter((d) => !d.allowed);
    expect(denied).toHaveLength(N - 1);
    for (const d of denied) {
      expect(d).toMatchObject({ reason: "cost_unknown", policy_id: pol.id });
      if (d.allowed) continue;
      expect(d.retry_after).toBeGreaterThanOrEqual(1);
      expect(d.retry_after).toBeLessThanOrEqual(5);
    }
    // The probe costs 9: the twins' retries now reserve 9 each, and 9 + 9 > 10 denies them all.
    const probe = ok[0]!;
    if (!probe.allowed) throw new Error("unreachable");
    await settlePolicy(fresh.db, probe.reservation_id, 9);
    const retry = await race({ agent_slug: slug, tool_name: tool });
    expect(retry.filter((d) => d.allowed)).toHaveLength(0);
    for (const d of retry) expect(d).toMatchObject({ reason: "budget_exceeded", details: { reserved_usd: 9, used_usd: 9 } });
    const { rows } = await fresh.db.query<{ spent: string }>(
      `select coalesce(sum(cost_usd), 0) as spent from public.actp_budget_ledger where agent_slug = $1`,
      [slug],
    );
    expect(Number(rows[0]!.spent)).toBe(9);
    expect(await drift()).toEqual([]);
  });

  it("a probe that never settles stops blocking once its reservation expires", async () => {
    const slug = await agent();
    const tool = `t.${randomBytes(3).toString("hex")}`;
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10, reservation_ttl_seconds: 10 } });
    const probe = await checkPolicy(fresh.db, { agent_slug: slug, tool_name: tool, action_type: "llm", estimated_cost_usd: 0 });
    expect(probe.allowed).toBe(true);
    const twin = await checkPolicy(fresh.db, { agent_slug: slug, tool_name: tool, action_type: "llm", estimated_cost_usd: 0 });
    expect(twin).toMatchObject({ allowed: false, reason: "cost_unknown" });
    // The worker holding it died: its reservation runs out (moved into the past rather than waited for).
    await fresh.db.query(`update public.actp_policy_reservations set created_at = now() - interval '20 seconds', expires_at = now() - interval '1 second' where agent_slug = $1`, [slug]);
    const next = await checkPolicy(fresh.db, { agent_slug: slug, tool_name: tool, action_type: "llm", estimated_cost_usd: 0 });
    expect(next.allowed).toBe(true);
  });

  it("a caller's estimate above 0 is its declared bound: such calls are not serialized", async () => {
    const slug = await agent();
    const tool = `t.${randomBytes(3).toString("hex")}`;
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10 } });
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    const runs = clients.map(async (c) => {
      await gate;
      return checkPolicy(asQueryable(c), { agent_slug: slug, tool_name: tool, action_type: "llm", estimated_cost_usd: 1 });
    });
    go();
    const decisions = await Promise.all(runs);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(N);
  });
});

describe("an overrun", () => {
  it("is recorded as it happened with its reservation, blocks the next checks, and the spend report lists it", async () => {
    const slug = await agent();
    const tool = `t.${randomBytes(3).toString("hex")}`;
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10 } });
    const d = await checkPolicy(fresh.db, { agent_slug: slug, tool_name: tool, action_type: "llm", estimated_cost_usd: 1 });
    if (!d.allowed) throw new Error("expected an allowed check");
    expect(d.reserved_usd).toBe(1);
    const s = await settlePolicy(fresh.db, d.reservation_id, 9);
    expect(s).toMatchObject({ cost_usd: 9, reserved_usd: 1, over_estimate: true, overrun_usd: 8 });
    const { rows } = await fresh.db.query<{ cost: string; reserved: string; overrun: string; estimated: string }>(
      `select cost_usd as cost, reserved_usd as reserved, overrun_usd as overrun, estimated_usd as estimated
       from public.actp_budget_ledger where reservation_id = $1`,
      [d.reservation_id],
    );
    expect(rows.map((r) => [Number(r.cost), Number(r.reserved), Number(r.overrun), Number(r.estimated)])).toEqual([[9, 1, 8, 1]]);
    // 9 spent of 10: concurrent checks reserving at least the 9 the tool just cost all deny.
    const after = await race({ agent_slug: slug, tool_name: tool });
    expect(after.filter((x) => x.allowed)).toHaveLength(0);
    expect(after[0]).toMatchObject({ reason: "budget_exceeded", details: { used_usd: 9 } });
    const overruns = await spendOverruns(fresh.db, { agent: slug });
    expect(overruns).toEqual([
      expect.objectContaining({ reservation_id: d.reservation_id, tool_name: tool, reserved_usd: 1, cost_usd: 9, overrun_usd: 8, estimated_usd: 1 }),
    ]);
    expect(await drift()).toEqual([]);
  });

  it("past the limit, even a tool's first call with a 0 estimate is denied until the window has room", async () => {
    const slug = await agent();
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { daily_usd: 10 } });
    await spend(slug, "llm.call", 12);
    const decisions = await race({ agent_slug: slug, tool_name: `never.${randomBytes(3).toString("hex")}` });
    expect(decisions.filter((x) => x.allowed)).toHaveLength(0);
    for (const x of decisions) expect(x).toMatchObject({ reason: "budget_exceeded", details: { used_usd: 12, reserved_usd: 0 } });
    expect(await drift()).toEqual([]);
  });
});
