// ctx.llm (runLlmCall) through the official @anthropic-ai/sdk against a local fake of the Messages
// API: success with cost settled in the ledger, fallback down the route on 529 and on an open
// circuit, breaker bookkeeping, policy denials, and the typed error when nothing is configured.
import { randomBytes, randomUUID } from "node:crypto";
import { APIError } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CircuitBreakers, forceOpenCircuit, modelToolName, upsertCircuitConfig } from "../../shared/circuits/index.ts";
import { createRoute } from "../../shared/models/index.ts";
import { createPolicy } from "../../shared/policy/index.ts";
import type { JobInfo } from "../../node/worker/job-info.ts";
import { runLlmCall, type LlmCallDeps } from "../../node/worker/guardrails/llm-call.ts";
import { LlmNotConfiguredError, LlmUnavailableError, ToolDeniedError } from "../../node/worker/guardrails/errors.ts";
import { FakeAnthropic } from "../support/fake-anthropic.ts";
import { testDatabase } from "../support/db.ts";

const db = testDatabase();
let fake: FakeAnthropic;
const hex = () => randomBytes(4).toString("hex");

beforeAll(async () => {
  fake = await FakeAnthropic.start();
});
afterAll(async () => {
  await fake.stop();
  await db.end();
});
beforeEach(() => fake.clear());

async function agent(): Promise<string> {
  const slug = `llm-${hex()}`;
  await db.query(`insert into public.actp_agent_definitions (slug, definition_hash) values ($1, $2)`, [slug, randomBytes(32).toString("hex")]);
  return slug;
}

function jobInfo(agentSlug: string, signal = new AbortController().signal): JobInfo {
  return { db, jobId: randomUUID(), agentSlug, signal, currentStep: () => "write-summary" };
}

/** A task type with two fresh models (own circuits): primary $2/$10, fallback $1/$5 per MTok. */
async function twoModelTask() {
  const task = `t_${hex()}`;
  const primary = `fake-sonnet-${hex()}`;
  const fallback = `fake-haiku-${hex()}`;
  const base = { task_type: task, provider: "anthropic" as const, conditions: {}, enabled: true };
  await createRoute(db, { ...base, model: primary, priority: 10, max_cost_usd: 1, input_usd_per_mtok: 2, output_usd_per_mtok: 10 });
  await createRoute(db, { ...base, model: fallback, priority: 20, max_cost_usd: 1, input_usd_per_mtok: 1, output_usd_per_mtok: 5 });
  return { task, primary, fallback };
}

const request = { max_tokens: 200, messages: [{ role: "user" as const, content: "Summarise the incident report in two lines." }] };

function deps(extra: Partial<LlmCallDeps> = {}): LlmCallDeps {
  return { apiKey: "test-key", baseURL: fake.url, breakers: new CircuitBreakers(db), ...extra };
}

async function ledger(jobId: string) {
  const { rows } = await db.query<{ tool_name: string; cost_usd: string }>(
    `select tool_name, cost_usd::text from actp_budget_ledger where run_id = $1 order by created_at, id`,
    [jobId],
  );
  return rows.map((r) => ({ tool_name: r.tool_name, cost_usd: Number(r.cost_usd) }));
}

async function events(jobId: string) {
  const { rows } = await db.query<{ type: string; tool_name: string; step_id: string; agent_slug: string; payload: Record<string, unknown> }>(
    `select type, tool_name, step_id, agent_slug, payload from actp_events where job_id = $1 order by seq`,
    [jobId],
  );
  return rows;
}

describe("runLlmCall", () => {
  it("calls the first candidate through the SDK, settles the usage cost and emits the job's events", async () => {
    const slug = await agent();
    const { task, primary } = await twoModelTask();
    fake.setUsage(primary, { input_tokens: 1200, output_tokens: 150 });
    const info = jobInfo(slug);
    const r = await runLlmCall(info, task, request, deps());

    expect(r).toMatchObject({ model: primary, task_type: task, text: `fake answer from ${primary}` });
    // 1200 * $2/M + 150 * $10/M
    expect(r.cost_usd).toBeCloseTo(0.0039, 12);
    expect(fake.requests).toHaveLength(1);
    // The SDK decides how the key travels (x-api-key or a bearer token); it must arrive.
    const h = fake.requests[0]!.headers;
    expect([h["x-api-key"], h.authorization]).toContain(h["x-api-key"] === "test-key" ? "test-key" : "Bearer test-key");
    expect(fake.requests[0]!.body).toMatchObject({ model: primary, max_tokens: 200, messages: request.messages });

    expect(await ledger(info.jobId)).toEqual([{ tool_name: modelToolName(primary), cost_usd: 0.0039 }]);
    const ev = await events(info.jobId);
    expect(ev.map((e) => e.type)).toEqual(["tool.call_started", "tool.call_completed"]);
    for (const e of ev) expect(e).toMatchObject({ tool_name: modelToolName(primary), step_id: "write-summary", agent_slug: slug });
    expect(ev[1]!.payload).toMatchObject({ cost_usd: 0.0039, input_tokens: 1200, output_tokens: 150 });
    expect(ev[0]!.payload.call_id).toBe(ev[1]!.payload.call_id);
  });

  it("falls down the chain on 529 overloaded, releases the failed reservation and counts the failure", async () => {
    const slug = await agent();
    const { task, primary, fallback } = await twoModelTask();
    fake.fail(primary, 529);
    fake.setUsage(fallback, { input_tokens: 1000, output_tokens: 100 });
    const info = jobInfo(slug);
    const r = await runLlmCall(info, task, request, deps());

    expect(r.model).toBe(fallback);
    expect(r.cost_usd).toBeCloseTo(0.0015, 12);
    expect(r.attempts.map((a) => [a.model, a.outcome, a.status ?? null])).toEqual([
      [primary, "failed", 529],
      [fallback, "completed", null],
    ]);
    // One request each: the SDK's own retries are off, the route is the retry policy.
    expect(fake.callsTo(primary)).toBe(1);
    expect(await ledger(info.jobId)).toEqual([
      { tool_name: modelToolName(primary), cost_usd: 0 },
      { tool_name: modelToolName(fallback), cost_usd: 0.0015 },
    ]);
    const ev = await events(info.jobId);
    expect(ev.map((e) => [e.type, e.tool_name])).toEqual([
      ["tool.call_started", modelToolName(primary)],
      ["tool.call_failed", modelToolName(primary)],
      ["tool.call_started", modelToolName(fallback)],
      ["tool.call_completed", modelToolName(fallback)],
    ]);
    expect(ev[1]!.payload).toMatchObject({ kind: "error", http_status: 529 });
    const { rows } = await db.query<{ n: number }>(`select cardinality(recent_failures) as n from actp_circuit_states where tool_name = $1`, [modelToolName(primary)]);
    expect(rows[0]!.n).toBe(1);
  });

  it("opens the model's breaker after repeated 529s and then skips it without calling it", async () => {
    const slug = await agent();
    const { task, primary, fallback } = await twoModelTask();
    await upsertCircuitConfig(db, modelToolName(primary), { failure_threshold: 2 });
    fake.fail(primary, 529);
    const breakers = new CircuitBreakers(db);
    await runLlmCall(jobInfo(slug), task, request, deps({ breakers }));
    await runLlmCall(jobInfo(slug), task, request, deps({ breakers }));
    expect(fake.callsTo(primary)).toBe(2);
    const { rows } = await db.query<{ type: string }>(`select type from actp_events where tool_name = $1 and type like '%circuit%' order by seq`, [modelToolName(primary)]);
    expect(rows.map((r) => r.type)).toEqual(["tool.circuit_open", "circuit.open"]);

    const info = jobInfo(slug);
    const r = await runLlmCall(info, task, request, deps({ breakers }));
    expect(r.model).toBe(fallback);
    expect(fake.callsTo(primary)).toBe(2);
    // route() already leaves the open model out.
    expect(r.route.skipped).toEqual([{ model: primary, priority: 10, reason: "circuit_open" }]);
  });

  it("falls back when the circuit opened after routing (another worker opened it)", async () => {
    const slug = await agent();
    const { task, primary, fallback } = await twoModelTask();
    const info = jobInfo(slug);
    // The route is read before the breaker opens; acquire sees it open.
    const breakers = new CircuitBreakers(db);
    const realAcquire = breakers.acquire.bind(breakers);
    let opened = false;
    breakers.acquire = async (tool: string) => {
      if (!opened) {
        opened = true;
        await forceOpenCircuit(db, modelToolName(primary), 60);
      }
      return realAcquire(tool);
    };
    const r = await runLlmCall(info, task, request, deps({ breakers }));
    expect(r.model).toBe(fallback);
    expect(r.attempts.map((a) => a.outcome)).toEqual(["circuit_open", "completed"]);
    expect(fake.callsTo(primary)).toBe(0);
    const failed = (await events(info.jobId)).find((e) => e.type === "tool.call_failed")!;
    expect(failed).toMatchObject({ tool_name: modelToolName(primary), payload: { kind: "circuit_open" } });
    expect(await ledger(info.jobId)).toEqual([
      { tool_name: modelToolName(primary), cost_usd: 0 },
      { tool_name: modelToolName(fallback), cost_usd: expect.any(Number) },
    ]);
  });

  it("falls on 429 without counting it against the breaker; a 400 is thrown at once", async () => {
    const slug = await agent();
    const { task, primary, fallback } = await twoModelTask();
    fake.fail(primary, 429, 1);
    const r = await runLlmCall(jobInfo(slug), task, request, deps());
    expect(r.model).toBe(fallback);
    expect(r.attempts[0]).toMatchObject({ outcome: "failed", status: 429 });
    const { rows } = await db.query(`select 1 from actp_circuit_states where tool_name = $1`, [modelToolName(primary)]);
    expect(rows).toHaveLength(0);

    // A request the API refuses as malformed is not another model's job: thrown, nothing counted.
    fake.fail(primary, 400, 1);
    const before = fake.callsTo(fallback);
    const err = await runLlmCall(jobInfo(slug), task, request, deps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(400);
    expect(fake.callsTo(fallback)).toBe(before);
    const after = await db.query(`select 1 from actp_circuit_states where tool_name = $1`, [modelToolName(primary)]);
    expect(after.rows).toHaveLength(0);
  });

  it("throws LlmUnavailableError listing every attempt when the whole chain fails", async () => {
    const slug = await agent();
    const { task, primary, fallback } = await twoModelTask();
    fake.fail(primary, 500);
    fake.fail(fallback, 529);
    const err = await runLlmCall(jobInfo(slug), task, request, deps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect((err as LlmUnavailableError).attempts.map((a) => [a.model, a.status])).toEqual([
      [primary, 500],
      [fallback, 529],
    ]);
  });

  it("skips a model whose worst case exceeds the route's max_cost_usd", async () => {
    const slug = await agent();
    const { task, primary, fallback } = await twoModelTask();
    // 150k output tokens: $1.50 at $10/M exceeds the primary's max_cost_usd of $1; $0.75 at $5/M fits the fallback's.
    const r = await runLlmCall(jobInfo(slug), task, { ...request, max_tokens: 150_000 }, deps());
    expect(r.attempts.map((a) => [a.model, a.outcome])).toEqual([
      [primary, "over_max_cost"],
      [fallback, "completed"],
    ]);
  });

  it("asks the policy service: a per-run budget too small for the estimate denies with a typed error", async () => {
    const slug = await agent();
    const { task, primary, fallback } = await twoModelTask();
    await createPolicy(db, { scope: `agent:${slug}`, policy_type: "budget", config: { per_run_usd: 0.0001 } });
    const info = jobInfo(slug);
    const err = await runLlmCall(info, task, request, deps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolDeniedError);
    expect(err).toMatchObject({ reason: "budget_exceeded", policy_id: expect.any(String) });
    expect(fake.requests).toHaveLength(0);
    const ev = await events(info.jobId);
    expect(ev.map((e) => [e.type, e.tool_name, e.payload.kind])).toEqual([
      ["tool.call_failed", modelToolName(primary), "policy_denied"],
      ["tool.call_failed", modelToolName(fallback), "policy_denied"],
    ]);
    expect(await ledger(info.jobId)).toEqual([]);
  });

  it("without an API key or base URL throws LlmNotConfiguredError, carrying the route decision", async () => {
    const slug = await agent();
    const err = await runLlmCall(jobInfo(slug), "greeting", request, { apiKey: null, baseURL: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmNotConfiguredError);
    expect(err).toMatchObject({ code: "llm.not_configured", details: { route: { task_type: "greeting", candidates: expect.any(Array) } } });
  });

  it("refuses a request without max_tokens or messages before doing anything", async () => {
    const slug = await agent();
    await expect(runLlmCall(jobInfo(slug), "greeting", { max_tokens: 0, messages: request.messages }, deps())).rejects.toMatchObject({ code: "tool.invalid_input" });
    await expect(runLlmCall(jobInfo(slug), "greeting", { max_tokens: 10, messages: [] }, deps())).rejects.toMatchObject({ code: "tool.invalid_input" });
    expect(fake.requests).toHaveLength(0);
  });
});
