// The two statements of a tool call (actp_tool_call_begin / actp_tool_call_end and their TS
// wrappers): two round trips on the happy path, a denial writes its tool.call_failed and nothing
// else, the started event and the reservation commit together (as do the settle and the closing
// event), and events are validated before anything is sent.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { CircuitBreakers, forceOpenCircuit } from "../../shared/circuits/index.ts";
import type { Database, Queryable } from "../../shared/db/types.ts";
import { parseEventInput } from "../../shared/events/registry.ts";
import { createPolicy } from "../../shared/policy/index.ts";
import type { JobInfo } from "../../node/worker/job-info.ts";
import { runToolCall } from "../../node/worker/guardrails/tool-call.ts";
import { beginToolCall, endToolCall } from "../../node/worker/guardrails/policy.ts";
import { deniedPayload, startedEvent, completedEvent } from "../../node/worker/guardrails/events.ts";
import { CircuitOpenError, ToolDeniedError } from "../../node/worker/guardrails/errors.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());
const hex = () => randomBytes(4).toString("hex");

async function agent(): Promise<string> {
  const slug = `tcall-${hex()}`;
  await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  return slug;
}

/** The same database, counting every statement sent through it. */
function counting(inner: Database): Database & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    query(text, values) {
      sent.push(text);
      return inner.query(text, values);
    },
    transaction: (fn) => inner.transaction(fn),
    asRole: (claims, fn) => inner.asRole(claims, fn),
    end: () => inner.end(),
  };
}

function jobInfo(agentSlug: string, on: Database = db): JobInfo {
  return { db: on, jobId: randomUUID(), agentSlug, signal: new AbortController().signal, currentStep: () => "gather" };
}

async function timeline(jobId: string) {
  const { rows } = await db.query<{ type: string; tool_name: string; step_id: string; agent_slug: string; job_id: string; payload: Record<string, unknown> }>(
    `select type, tool_name, step_id, agent_slug, job_id, payload from actp_events where job_id = $1 order by seq`,
    [jobId],
  );
  for (const e of rows) expect(parseEventInput(e).success).toBe(true);
  return rows;
}

async function reservations(runId: string) {
  const { rows } = await db.query<{ status: string }>(`select status from actp_policy_reservations where run_id = $1`, [runId]);
  return rows.map((r) => r.status);
}

async function ledger(runId: string) {
  const { rows } = await db.query<{ cost: string }>(`select cost_usd::text as cost from actp_budget_ledger where run_id = $1`, [runId]);
  return rows.map((r) => Number(r.cost));
}

const check = (info: JobInfo, tool: string, extra: { estimated_cost_usd?: number; target_url?: string } = {}) => ({
  agent_slug: info.agentSlug,
  tool_name: tool,
  action_type: "tool_call",
  run_id: info.jobId,
  ...extra,
});

describe("ctx.tool in two round trips", () => {
  it("a no-op tool costs two statements once the breaker is known closed: begin and end", async () => {
    const slug = await agent();
    const cdb = counting(db);
    const breakers = new CircuitBreakers(cdb);
    const tool = `${hex()}.noop`;
    await runToolCall(jobInfo(slug, cdb), tool, {}, {}, () => null, { breakers });
    cdb.sent.length = 0;
    const info = jobInfo(slug, cdb);
    await runToolCall(info, tool, { a: 1 }, { estimated_cost_usd: 0.01 }, () => "ok", { breakers });
    expect(cdb.sent.map((s) => /actp_tool_call_(begin|end)/.exec(s)?.[0] ?? s)).toEqual(["actp_tool_call_begin", "actp_tool_call_end"]);
    expect((await timeline(info.jobId)).map((e) => e.type)).toEqual(["tool.call_started", "tool.call_completed"]);
    expect(await reservations(info.jobId)).toEqual(["settled"]);
    expect(await ledger(info.jobId)).toEqual([0.01]);
  });

  it("a denial writes exactly its tool.call_failed, shaped as the worker would shape it, and no reservation", async () => {
    const slug = await agent();
    const tool = `${hex()}.api`;
    const allow = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "allowlist", config: { allowed_domains: ["github.com"] } });
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "rate_limit", config: { tool, max_per_minute: 1 } });
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { per_run_usd: 1 } });

    const cases: { info: JobInfo; tool: string; extra: Parameters<typeof check>[2]; reason: string }[] = [
      { info: jobInfo(`ghost-${hex()}`), tool, extra: {}, reason: "unknown_agent" },
      { info: jobInfo(slug), tool: "web.fetch", extra: { target_url: "https://evil.example/x" }, reason: "domain_not_allowed" },
      { info: jobInfo(slug), tool: "web.fetch", extra: { target_url: "https://github.com@evil.example/" }, reason: "invalid_url" },
      { info: jobInfo(slug), tool: "web.fetch", extra: { target_url: "https://github.com/", estimated_cost_usd: 5 }, reason: "budget_exceeded" },
    ];
    // Spend the one call a minute, then the next is rate limited.
    const first = jobInfo(slug);
    const ok = await beginToolCall(db, check(first, tool), startedEvent(first, tool, { call_id: randomUUID(), action_type: "tool_call" }));
    expect(ok).toMatchObject({ allowed: true, started: true, circuit_state: "closed" });
    cases.push({ info: jobInfo(slug), tool, extra: {}, reason: "rate_limited" });

    for (const c of cases) {
      const callId = randomUUID();
      const d = await beginToolCall(db, check(c.info, c.tool, c.extra), startedEvent(c.info, c.tool, { call_id: callId, action_type: "tool_call" }));
      expect(d).toMatchObject({ allowed: false, reason: c.reason, started: false });
      if (d.allowed) throw new Error("unreachable");
      const ev = await timeline(c.info.jobId);
      expect(ev).toHaveLength(1);
      expect(ev[0]).toEqual({
        type: "tool.call_failed",
        job_id: c.info.jobId,
        step_id: "gather",
        agent_slug: c.info.agentSlug,
        tool_name: c.tool,
        payload: deniedPayload(callId, d),
      });
      expect(await reservations(c.info.jobId)).toEqual([]);
      expect(await ledger(c.info.jobId)).toEqual([]);
    }
    const byReason = Object.fromEntries(
      await Promise.all(cases.map(async (c) => [c.reason, (await timeline(c.info.jobId))[0]!.payload] as const)),
    );
    expect(byReason.domain_not_allowed).toMatchObject({ kind: "policy_denied", policy_id: allow.id, error: { code: "policy.domain_not_allowed", where: "policy" } });
    expect(byReason.rate_limited).toMatchObject({ kind: "rate_limited", retry_after_ms: expect.any(Number) });
    expect(byReason.unknown_agent).not.toHaveProperty("policy_id");
  });

  it("the reservation and tool.call_started commit together: a failing event insert leaves neither, and takes no rate-limit slot", async () => {
    const slug = await agent();
    const tool = `${hex()}.once`;
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "rate_limit", config: { tool, max_per_minute: 1 } });
    const run = randomUUID();
    // Past the TS validation on purpose: a step_id the events table refuses (over 200 characters).
    const event = { type: "tool.call_started", job_id: run, step_id: "s".repeat(201), agent_slug: slug, tool_name: tool, payload: { call_id: "c1" } };
    await expect(
      db.query(`select public.actp_tool_call_begin($1, $2, 'tool_call', $3::uuid, 0.5, null, null, $4::jsonb)`, [slug, tool, run, JSON.stringify(event)]),
    ).rejects.toMatchObject({ code: "23514" });
    expect(await reservations(run)).toEqual([]);
    expect(await timeline(run)).toEqual([]);
    // The one call a minute is still free.
    const info = jobInfo(slug);
    await expect(runToolCall(info, tool, {}, {}, () => 1, { breakers: new CircuitBreakers(db) })).resolves.toBe(1);
  });

  it("the settle and the closing event commit together; a second end is a 409 that writes nothing", async () => {
    const slug = await agent();
    const info = jobInfo(slug);
    const tool = `${hex()}.end`;
    const callId = randomUUID();
    const d = await beginToolCall(db, check(info, tool, { estimated_cost_usd: 0.2 }), startedEvent(info, tool, { call_id: callId, action_type: "tool_call" }));
    if (!d.allowed) throw new Error("expected allowed");
    const bad = { ...completedEvent(info, tool, { call_id: callId, duration_ms: 1, cost_usd: 0.1 }), job_id: info.jobId, step_id: "s".repeat(201) };
    await expect(
      db.query(`select public.actp_tool_call_end($1::uuid, 0.1, $2::jsonb)`, [d.reservation_id, JSON.stringify(bad)]),
    ).rejects.toMatchObject({ code: "23514" });
    expect(await reservations(info.jobId)).toEqual(["reserved"]);
    expect(await ledger(info.jobId)).toEqual([]);

    const done = completedEvent(info, tool, { call_id: callId, duration_ms: 1, cost_usd: 0.1 });
    await expect(endToolCall(db, d.reservation_id, 0.1, done)).resolves.toMatchObject({ cost_usd: 0.1, released_usd: 0.1 });
    await expect(endToolCall(db, d.reservation_id, 0.1, done)).rejects.toMatchObject({ code: "policy.reservation.conflict", status: 409 });
    await expect(endToolCall(db, randomUUID(), 0, done)).rejects.toMatchObject({ code: "policy.reservation.not_found", status: 404 });
    expect((await timeline(info.jobId)).map((e) => e.type)).toEqual(["tool.call_started", "tool.call_completed"]);
    expect(await ledger(info.jobId)).toEqual([0.1]);
  });

  it("refuses an event that is not this call's, writing nothing", async () => {
    const slug = await agent();
    const info = jobInfo(slug);
    const tool = `${hex()}.x`;
    const started = startedEvent(info, tool, { call_id: "c", action_type: "tool_call" });
    const begin = (ev: unknown) =>
      db.query(`select public.actp_tool_call_begin($1, $2, 'tool_call', $3::uuid, 0, null, null, $4::jsonb)`, [slug, tool, info.jobId, JSON.stringify(ev)]);
    await expect(begin({ ...started, type: "tool.call_completed" })).rejects.toThrow(/^tool\.invalid_event/);
    await expect(begin({ ...started, tool_name: "other.tool" })).rejects.toThrow(/^tool\.invalid_event/);
    await expect(begin({ ...started, job_id: randomUUID() })).rejects.toThrow(/^tool\.invalid_event/);
    await expect(begin({ ...started, payload: [] })).rejects.toThrow(/^tool\.invalid_event/);
    await expect(begin(null)).rejects.toThrow(/^tool\.invalid_event/);
    expect(await reservations(info.jobId)).toEqual([]);
    expect(await timeline(info.jobId)).toEqual([]);
  });

  it("validates the events before sending anything: the registry's 400, no statement, no write", async () => {
    const slug = await agent();
    const cdb = counting(db);
    const info = jobInfo(slug, cdb);
    const tool = `${hex()}.v`;
    const withSecret = { ...startedEvent(info, tool, { call_id: "c", action_type: "tool_call" }), payload: { call_id: "c", api_key: "abc" } };
    await expect(beginToolCall(cdb, check(info, tool), withSecret)).rejects.toMatchObject({ code: "events.invalid_event", status: 400 });
    // A tool name a denial's message would quote, that looks like a credential.
    const secretTool = ["sk", "ant", "a".repeat(24)].join("-");
    await expect(
      beginToolCall(cdb, check(info, secretTool), startedEvent(info, secretTool, { call_id: "c", action_type: "tool_call" })),
    ).rejects.toMatchObject({ code: "events.invalid_event" });
    await expect(endToolCall(cdb, randomUUID(), 0, { ...withSecret, type: "tool.call_completed" })).rejects.toMatchObject({ code: "events.invalid_event" });
    expect(cdb.sent).toEqual([]);
    expect(await timeline(info.jobId)).toEqual([]);
  });

  it("an open breaker: begin writes no start, and a stale cached 'closed' is not trusted", async () => {
    const slug = await agent();
    const tool = `${hex()}.flaky`;
    const breakers = new CircuitBreakers(db, { closedTtlMs: 60_000 });
    await runToolCall(jobInfo(slug), tool, {}, {}, () => 1, { breakers });
    // Another worker opens it; this process still holds a fresh "closed".
    await forceOpenCircuit(db, tool, 60);
    const info = jobInfo(slug);
    let ran = false;
    const err = await runToolCall(info, tool, {}, { estimated_cost_usd: 0.3 }, () => (ran = true), { breakers }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(ran).toBe(false);
    expect((await timeline(info.jobId)).map((e) => [e.type, e.payload.kind ?? null])).toEqual([["tool.call_failed", "circuit_open"]]);
    expect(await reservations(info.jobId)).toEqual(["settled"]);
    expect(await ledger(info.jobId)).toEqual([0]);
  });

  it("a probe call writes its start itself: one started, one completed", async () => {
    const slug = await agent();
    const tool = `${hex()}.probe`;
    await forceOpenCircuit(db, tool, 60);
    await db.query(`update actp_circuit_states set reopens_at = now() - interval '1 second' where tool_name = $1`, [tool]);
    const info = jobInfo(slug);
    await runToolCall(info, tool, {}, {}, () => "ok", { breakers: new CircuitBreakers(db) });
    const ev = await timeline(info.jobId);
    expect(ev.map((e) => e.type)).toEqual(["tool.call_started", "tool.call_completed"]);
    expect(ev[0]!.payload.call_id).toBe(ev[1]!.payload.call_id);
  });

  it("only a completed call teaches the budget floor: a failed first call settles 0 and teaches nothing", async () => {
    const slug = await agent();
    const tool = `${hex()}.api`;
    const breakers = new CircuitBreakers(db);
    const learned = async () =>
      (await db.query<{ floor: string }>(`select floor_usd as floor from public.actp_policy_cost_stats where agent_slug = $1 and tool_name = $2`, [slug, tool])).rows.map((r) => Number(r.floor));
    await expect(runToolCall(jobInfo(slug), tool, {}, {}, () => { throw new Error("upstream 500"); }, { breakers })).rejects.toThrow("upstream 500");
    expect(await learned()).toEqual([]);
    await runToolCall(jobInfo(slug), tool, {}, {}, (call) => { call.reportCost(2.5); return "ok"; }, { breakers });
    expect(await learned()).toEqual([2.5]);
    // The policy API's settle states an actual cost: it teaches too.
    const info = jobInfo(slug);
    const d = await beginToolCall(db, check(info, tool), startedEvent(info, tool, { call_id: randomUUID(), action_type: "tool_call" }));
    if (!d.allowed) throw new Error("expected an allowed check");
    await db.query(`select public.actp_policy_settle($1::uuid, 4)`, [d.reservation_id]);
    expect(await learned()).toEqual([4]);
  });

  it("a denied ctx.tool call throws the typed error after one statement", async () => {
    const cdb = counting(db);
    const info = jobInfo(`ghost-${hex()}`, cdb);
    await expect(runToolCall(info, "x.y", {}, {}, () => 1, { breakers: new CircuitBreakers(cdb) })).rejects.toBeInstanceOf(ToolDeniedError);
    expect(cdb.sent).toHaveLength(1);
  });
});
