// ctx.tool (runToolCall) on the embedded database with the real policy service and breakers:
// the order policy -> circuit -> fn -> settle -> events, denials in the job's timeline, fallbacks,
// timeouts, and bad input refused before anything is written.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { CircuitBreakers, forceOpenCircuit, upsertCircuitConfig } from "../../shared/circuits/index.ts";
import { parseEventInput } from "../../shared/events/registry.ts";
import { createPolicy } from "../../shared/policy/index.ts";
import type { JobInfo } from "../../node/worker/job-info.ts";
import { runToolCall, type ToolCallOptions, type ToolFn } from "../../node/worker/guardrails/tool-call.ts";
import { argsHash } from "../../node/worker/guardrails/args-hash.ts";
import { CircuitOpenError, ToolDeniedError, ToolInputError, ToolTimeoutError } from "../../node/worker/guardrails/errors.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
afterAll(() => db.end());
const hex = () => randomBytes(4).toString("hex");

async function agent(): Promise<string> {
  const slug = `tool-${hex()}`;
  await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  return slug;
}

function jobInfo(agentSlug: string, signal = new AbortController().signal): JobInfo {
  return { db, jobId: randomUUID(), agentSlug, signal, currentStep: () => "gather" };
}

async function timeline(jobId: string) {
  const { rows } = await db.query<{ type: string; tool_name: string; step_id: string; agent_slug: string; job_id: string; payload: Record<string, unknown> }>(
    `select type, tool_name, step_id, agent_slug, job_id, payload from actp_events where job_id = $1 order by seq`,
    [jobId],
  );
  for (const e of rows) expect(parseEventInput(e).success).toBe(true);
  return rows;
}

async function ledger(jobId: string) {
  const { rows } = await db.query<{ tool_name: string; cost: string }>(`select tool_name, cost_usd::text as cost from actp_budget_ledger where run_id = $1 order by created_at, id`, [jobId]);
  return rows.map((r) => [r.tool_name, Number(r.cost)]);
}

// Each test its own breaker cache, so one test's cached "closed" never leaks into another.
const call = <T>(info: JobInfo, name: string, args: unknown, options: ToolCallOptions<T>, fn: ToolFn<T>) =>
  runToolCall(info, name, args, options, fn, { breakers: new CircuitBreakers(db) });

describe("runToolCall", () => {
  it("runs fn after the policy check and settles the reported cost, with started/completed on the timeline", async () => {
    const slug = await agent();
    const info = jobInfo(slug);
    const tool = `${hex()}.search`;
    const out = await call(info, tool, { q: "pgvector", page: 1 }, { estimated_cost_usd: 0.01, action_type: "network_read" }, (c) => {
      expect(c).toMatchObject({ toolName: tool, isFallback: false, url: null });
      c.reportCost(0.004);
      return { hits: 3 };
    });
    expect(out).toEqual({ hits: 3 });
    expect(await ledger(info.jobId)).toEqual([[tool, 0.004]]);
    const ev = await timeline(info.jobId);
    expect(ev.map((e) => e.type)).toEqual(["tool.call_started", "tool.call_completed"]);
    expect(ev[0]).toMatchObject({ tool_name: tool, step_id: "gather", agent_slug: slug, payload: { action_type: "network_read", input_hash: argsHash({ page: 1, q: "pgvector" }) } });
    expect(ev[1]!.payload).toMatchObject({ cost_usd: 0.004, call_id: ev[0]!.payload.call_id });
  });

  it("settles the estimate when fn reports no cost", async () => {
    const slug = await agent();
    const info = jobInfo(slug);
    await call(info, "calc.sum", [1, 2], { estimated_cost_usd: 0.02 }, () => 3);
    expect(await ledger(info.jobId)).toEqual([["calc.sum", 0.02]]);
  });

  it("a denial throws ToolDeniedError with reason, retry_after and policy_id, and is on the timeline; fn never runs", async () => {
    const slug = await agent();
    const policy = await createPolicy(db, { scope: `agent:${slug}`, policy_type: "allowlist", config: { allowed_domains: ["github.com"] } });
    const info = jobInfo(slug);
    let ran = false;
    const err = await call(info, "browser.fetch", { u: 1 }, { url: "https://evil.example/x" }, () => {
      ran = true;
    }).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(ToolDeniedError);
    expect(err).toMatchObject({ reason: "domain_not_allowed", retry_after: null, policy_id: policy.id, code: "tool.denied" });
    const ev = await timeline(info.jobId);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ type: "tool.call_failed", tool_name: "browser.fetch", payload: { kind: "policy_denied", reason: "domain_not_allowed", policy_id: policy.id } });
    expect(await ledger(info.jobId)).toEqual([]);

    // The userinfo trick never reaches the allowlist as github.com.
    await expect(call(jobInfo(slug), "browser.fetch", {}, { url: "https://github.com@evil.example/x" }, () => 1)).rejects.toMatchObject({ reason: "invalid_url" });
  });

  it("passes the canonical URL the allowlist checked to fn", async () => {
    const slug = await agent();
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "allowlist", config: { allowed_domains: ["docs.*"] } });
    const url = await call(jobInfo(slug), "browser.fetch", {}, { url: "HTTPS://Docs.Example.COM./a b" }, (c) => c.url);
    expect(url).toBe("https://docs.example.com/a%20b");
  });

  it("a rate limit denial carries retry_after and is recorded as rate_limited", async () => {
    const slug = await agent();
    const tool = `${hex()}.api`;
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "rate_limit", config: { tool, max_per_minute: 1 } });
    await call(jobInfo(slug), tool, {}, {}, () => "ok");
    const info = jobInfo(slug);
    const err = (await call(info, tool, {}, {}, () => "ok").catch((e: unknown) => e)) as ToolDeniedError;
    expect(err).toBeInstanceOf(ToolDeniedError);
    expect(err.reason).toBe("rate_limited");
    expect(err.retry_after).toBeGreaterThan(0);
    const [ev] = await timeline(info.jobId);
    expect(ev!.payload).toMatchObject({ kind: "rate_limited", retry_after_ms: err.retry_after! * 1000 });
  });

  it("fn failures are recorded, count toward the breaker, and an open breaker refuses without running fn", async () => {
    const slug = await agent();
    const tool = `${hex()}.flaky`;
    await upsertCircuitConfig(db, tool, { failure_threshold: 2 });
    const breakers = new CircuitBreakers(db);
    const boom = () => {
      throw new Error("upstream returned 503");
    };
    for (let i = 0; i < 2; i++) {
      await expect(runToolCall(jobInfo(slug), tool, {}, {}, boom, { breakers })).rejects.toThrow("upstream returned 503");
    }
    const info = jobInfo(slug);
    let ran = false;
    const err = await runToolCall(info, tool, {}, { estimated_cost_usd: 0.5 }, () => {
      ran = true;
    }, { breakers }).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ tool, fallback_tool: null });
    expect((err as CircuitOpenError).retry_after).toBeGreaterThan(0);
    const ev = await timeline(info.jobId);
    expect(ev.map((e) => [e.type, e.payload.kind])).toEqual([["tool.call_failed", "circuit_open"]]);
    // The reservation of the refused call was released (settled at 0).
    expect(await ledger(info.jobId)).toEqual([[tool, 0]]);
  });

  it("routes to the fallback tool's function while the breaker is open", async () => {
    const slug = await agent();
    const tool = `${hex()}.primary`;
    const backup = `${hex()}.backup`;
    await upsertCircuitConfig(db, tool, { fallback_tool: backup });
    await forceOpenCircuit(db, tool, 60);
    const info = jobInfo(slug);
    const out = await call(info, tool, { q: 1 }, {
      estimated_cost_usd: 0.01,
      fallbacks: {
        [backup]: (c) => {
          expect(c).toMatchObject({ toolName: backup, isFallback: true });
          return "from backup";
        },
      },
    }, () => "from primary");
    expect(out).toBe("from backup");
    const ev = await timeline(info.jobId);
    expect(ev.map((e) => [e.type, e.tool_name])).toEqual([
      ["tool.call_failed", tool],
      ["tool.call_started", backup],
      ["tool.call_completed", backup],
    ]);
    expect(ev[0]!.payload).toMatchObject({ kind: "circuit_open", fallback_tool: backup });
    expect(await ledger(info.jobId)).toEqual([[tool, 0], [backup, 0.01]]);

    // Without a function for the fallback the caller gets CircuitOpenError naming it.
    await expect(call(jobInfo(slug), tool, {}, {}, () => 1)).rejects.toMatchObject({ code: "tool.circuit_open", fallback_tool: backup });
  });

  it("a probe call that succeeds closes the breaker", async () => {
    const slug = await agent();
    const tool = `${hex()}.recovering`;
    await forceOpenCircuit(db, tool, 60);
    await db.query(`update actp_circuit_states set reopens_at = now() - interval '1 second' where tool_name = $1`, [tool]);
    await call(jobInfo(slug), tool, {}, {}, () => "ok");
    const { rows } = await db.query<{ state: string }>(`select state from actp_circuit_states where tool_name = $1`, [tool]);
    expect(rows[0]!.state).toBe("closed");
  });

  it("times out a slow fn with ToolTimeoutError, kind timeout, and settles the estimate", async () => {
    const slug = await agent();
    const info = jobInfo(slug);
    let aborted = false;
    const err = await call(info, "slow.tool", {}, { timeout_ms: 50, estimated_cost_usd: 0.001 }, (c) =>
      new Promise((resolve) => {
        c.signal.addEventListener("abort", () => (aborted = true));
        setTimeout(resolve, 5_000).unref();
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolTimeoutError);
    expect(aborted).toBe(true);
    const ev = await timeline(info.jobId);
    expect(ev.map((e) => [e.type, e.payload.kind ?? null])).toEqual([["tool.call_started", null], ["tool.call_failed", "timeout"]]);
    expect(await ledger(info.jobId)).toEqual([["slow.tool", 0.001]]);
  });

  it("a cancelled job stops the call without counting against the tool's breaker", async () => {
    const slug = await agent();
    const ctrl = new AbortController();
    const info = jobInfo(slug, ctrl.signal);
    const tool = `${hex()}.cancel`;
    const p = call(info, tool, {}, {}, () => new Promise(() => setTimeout(() => ctrl.abort(new Error("job cancelled")), 10)));
    await expect(p).rejects.toThrow("job cancelled");
    const { rows } = await db.query(`select 1 from actp_circuit_states where tool_name = $1`, [tool]);
    expect(rows).toHaveLength(0);
  });

  it("refuses bad input before any check, call or write", async () => {
    const slug = await agent();
    const info = jobInfo(slug);
    const fn = () => 1;
    await expect(call(info, "bad tool", {}, {}, fn)).rejects.toBeInstanceOf(ToolInputError);
    await expect(call(info, "ok.tool", {}, { estimated_cost_usd: -1 }, fn)).rejects.toBeInstanceOf(ToolInputError);
    await expect(call(info, "ok.tool", {}, { estimated_cost_usd: Number.NaN }, fn)).rejects.toBeInstanceOf(ToolInputError);
    await expect(call(info, "ok.tool", {}, { timeout_ms: 0 }, fn)).rejects.toBeInstanceOf(ToolInputError);
    await expect(call(info, "ok.tool", {}, { action_type: "Not Valid" }, fn)).rejects.toBeInstanceOf(ToolInputError);
    await expect(call(info, "ok.tool", { n: 10n }, {}, fn)).rejects.toBeInstanceOf(ToolInputError);
    expect(await timeline(info.jobId)).toEqual([]);
    expect(await ledger(info.jobId)).toEqual([]);
  });

  it("an unknown agent is denied (fail closed)", async () => {
    const info = jobInfo(`ghost-${hex()}`);
    await expect(call(info, "x.y", {}, {}, () => 1)).rejects.toMatchObject({ reason: "unknown_agent" });
    expect((await timeline(info.jobId)).map((e) => e.payload.kind)).toEqual(["policy_denied"]);
  });
});
