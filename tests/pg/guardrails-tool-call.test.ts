// The two statements of a tool call under real concurrency (PostgreSQL 15, one connection per
// caller): every reservation has exactly its tool.call_started and every denial exactly its
// tool.call_failed, with budgets and rate limits still exact; concurrent ends settle each
// reservation once, with one closing event each.
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../shared/db/types.ts";
import { createPolicy } from "../../shared/policy/index.ts";
import type { JobInfo } from "../../node/worker/job-info.ts";
import { beginToolCall, endToolCall, type BeginResult } from "../../node/worker/guardrails/policy.ts";
import { completedEvent, startedEvent } from "../../node/worker/guardrails/events.ts";
import { freshPgDatabase, type FreshDatabase } from "../support/pg.ts";

const CLIENTS = 40;
let fresh: FreshDatabase;
let clients: pg.Client[] = [];

const asQueryable = (c: pg.Client): Queryable => ({
  async query<R>(text: string, values?: readonly unknown[]) {
    const res = await c.query(text, values as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount };
  },
});

beforeAll(async () => {
  fresh = await freshPgDatabase("guardrails_tool_call");
  clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = new pg.Client({ connectionString: fresh.url });
      await c.connect();
      return c;
    }),
  );
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
  await fresh?.drop();
});

async function agent(): Promise<string> {
  const slug = `tcc-${randomBytes(4).toString("hex")}`;
  await fresh.db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  return slug;
}

function info(agentSlug: string, jobId: string): JobInfo {
  return { db: fresh.db, jobId, agentSlug, signal: new AbortController().signal, currentStep: () => null };
}

/** CLIENTS begins at once, one per connection, all in the same run. */
async function beginAll(slug: string, tool: string, run: string, estimate: number) {
  const ji = info(slug, run);
  const calls = clients.map((c) => {
    const callId = randomUUID();
    return { callId, c };
  });
  const results = await Promise.all(
    calls.map(({ c, callId }) =>
      beginToolCall(
        asQueryable(c),
        { agent_slug: slug, tool_name: tool, action_type: "tool_call", run_id: run, estimated_cost_usd: estimate },
        startedEvent(ji, tool, { call_id: callId, action_type: "tool_call" }),
      ).then((d): [string, BeginResult] => [callId, d]),
    ),
  );
  return results;
}

async function eventsOf(run: string) {
  const { rows } = await fresh.db.query<{ type: string; call_id: string; reason: string | null }>(
    `select type, payload->>'call_id' as call_id, payload->>'reason' as reason from public.actp_events where job_id = $1`,
    [run],
  );
  return rows;
}

async function reservationsOf(run: string) {
  const { rows } = await fresh.db.query<{ id: string; status: string }>(`select id, status from public.actp_policy_reservations where run_id = $1`, [run]);
  return rows;
}

describe("actp_tool_call_begin / end under concurrency", () => {
  it("a per-run budget admits exactly what fits; each admitted call has one reservation and one start, each denial one failure", async () => {
    const slug = await agent();
    const tool = "api.paid";
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "budget", config: { per_run_usd: 7 } });
    const run = randomUUID();
    const results = await beginAll(slug, tool, run, 1);

    const allowed = results.filter(([, d]) => d.allowed);
    const denied = results.filter(([, d]) => !d.allowed);
    expect(allowed).toHaveLength(7);
    expect(denied.every(([, d]) => !d.allowed && d.reason === "budget_exceeded")).toBe(true);
    expect(allowed.every(([, d]) => d.started)).toBe(true);

    const ev = await eventsOf(run);
    const started = ev.filter((e) => e.type === "tool.call_started").map((e) => e.call_id).sort();
    const failed = ev.filter((e) => e.type === "tool.call_failed").map((e) => e.call_id).sort();
    expect(started).toEqual(allowed.map(([id]) => id).sort());
    expect(failed).toEqual(denied.map(([id]) => id).sort());
    const res = await reservationsOf(run);
    expect(res.map((r) => r.id).sort()).toEqual(allowed.map(([, d]) => (d.allowed ? d.reservation_id : "")).sort());

    // Every admitted call ends at once on its own connection; each reservation settles once.
    const ji = info(slug, run);
    await Promise.all(
      allowed.map(([callId, d], i) =>
        endToolCall(asQueryable(clients[i]!), d.allowed ? d.reservation_id : "", 1, completedEvent(ji, tool, { call_id: callId, duration_ms: 0, cost_usd: 1 })),
      ),
    );
    expect((await reservationsOf(run)).every((r) => r.status === "settled")).toBe(true);
    const completed = (await eventsOf(run)).filter((e) => e.type === "tool.call_completed").map((e) => e.call_id).sort();
    expect(completed).toEqual(allowed.map(([id]) => id).sort());
    const { rows } = await fresh.db.query<{ n: number; total: string }>(
      `select count(*)::int as n, sum(cost_usd)::text as total from public.actp_budget_ledger where run_id = $1`,
      [run],
    );
    expect(rows[0]).toEqual({ n: 7, total: "7.00000000" });
  });

  it("a rate limit admits exactly its limit, with one start per admitted call", async () => {
    const slug = await agent();
    const tool = "api.limited";
    await createPolicy(fresh.db, { scope: `agent:${slug}`, policy_type: "rate_limit", config: { tool, max_per_minute: 5 } });
    const run = randomUUID();
    const results = await beginAll(slug, tool, run, 0);
    const allowed = results.filter(([, d]) => d.allowed);
    expect(allowed).toHaveLength(5);
    const ev = await eventsOf(run);
    expect(ev.filter((e) => e.type === "tool.call_started")).toHaveLength(5);
    expect(ev.filter((e) => e.type === "tool.call_failed" && e.reason === "rate_limited")).toHaveLength(CLIENTS - 5);
    expect(await reservationsOf(run)).toHaveLength(5);
  });
});
