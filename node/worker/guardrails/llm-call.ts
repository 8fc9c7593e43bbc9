// ctx.llm(task_type, request): a model call routed by actp_model_routes (PRD §4.3) through the
// official Anthropic SDK. Candidates are tried in the route's order; the chain moves on when a
// model's breaker is open, the policy refuses it, its worst case exceeds the route's max_cost_usd,
// or the call fails in a way another model may not (5xx, 529 overloaded, 429, connection errors,
// timeouts, unknown model). A request error (400, 401, 403, 413, 422) is the caller's and is thrown.
// Each attempt reserves its worst-case cost, settles the real cost from the usage tokens at the
// route's prices, feeds the model's breaker ("model:<id>") and writes tool.call_* events.
import { randomUUID } from "node:crypto";
import Anthropic, { APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import { ActpError } from "../../../shared/errors.ts";
import { emit } from "../../../shared/events/emit.ts";
import type { Message, MessageCreateParamsNonStreaming } from "@anthropic-ai/sdk/resources/messages";
import { circuitBreakersFor, modelToolName, type CircuitBreakers } from "../../../shared/circuits/index.ts";
import { estimateInputTokens, route, usageCostUsd, worstCaseCostUsd, type RouteDecision } from "../../../shared/models/index.ts";
import type { JobInfo } from "../job-info.ts";
import { LlmNotConfiguredError, LlmUnavailableError, ToolDeniedError, ToolInputError, type LlmAttempt } from "./errors.ts";
import { completedEvent, emitFailed, errorInfo, failedEvent, startedEvent, type FailureKind } from "./events.ts";
import { sharedPolicy, type BeginResult, type PolicyPort } from "./policy.ts";

export type LlmRequest = Omit<MessageCreateParamsNonStreaming, "model" | "stream">;

export interface LlmResult {
  message: Message;
  /** The concatenated text blocks of the answer. */
  text: string;
  model: string;
  task_type: string;
  cost_usd: number;
  attempts: LlmAttempt[];
  route: RouteDecision;
}

export interface LlmCallDeps {
  policy?: PolicyPort;
  breakers?: CircuitBreakers;
  /** Default: env ANTHROPIC_API_KEY. */
  apiKey?: string | null;
  /** Default: env ANTHROPIC_BASE_URL (a proxy, or the fake server in tests). */
  baseURL?: string | null;
  /** Per attempt; default 60 s. */
  timeoutMs?: number;
  /** Passed to route(): candidates whose max_cost_usd exceeds it are skipped. */
  budgetRemaining?: number | null;
  /** Policy action type of model calls; default "llm_call". */
  actionType?: string;
}

const IMAGE_TOKENS = 1600;

function requestTexts(req: LlmRequest): { texts: string[]; flatTokens: number } {
  const texts: string[] = [];
  let flatTokens = 0;
  const add = (content: unknown) => {
    if (typeof content === "string") return void texts.push(content);
    if (!Array.isArray(content)) return void texts.push(JSON.stringify(content ?? ""));
    for (const block of content as { type?: string; text?: string }[]) {
      if (block?.type === "text" && typeof block.text === "string") texts.push(block.text);
      else if (block?.type === "image" || block?.type === "document") flatTokens += IMAGE_TOKENS;
      else texts.push(JSON.stringify(block));
    }
  };
  add(req.system ?? "");
  for (const m of req.messages) add(m.content);
  if (req.tools) texts.push(JSON.stringify(req.tools));
  return { texts, flatTokens };
}

/** Which failures move the chain on, and which count against the model's breaker. */
export function classifyLlmError(err: unknown): { fallThrough: boolean; circuitFailure: boolean; kind: FailureKind; status: number | null } {
  if (err instanceof APIUserAbortError) return { fallThrough: false, circuitFailure: false, kind: "error", status: null };
  if (err instanceof APIError) {
    const status = err.status ?? null;
    if (status === null) return { fallThrough: true, circuitFailure: true, kind: "error", status }; // connection, timeout
    if (status === 429) return { fallThrough: true, circuitFailure: false, kind: "rate_limited", status };
    if (status === 404) return { fallThrough: true, circuitFailure: false, kind: "error", status };
    if (status === 408 || status >= 500) return { fallThrough: true, circuitFailure: true, kind: status === 408 ? "timeout" : "error", status };
    return { fallThrough: false, circuitFailure: false, kind: "error", status };
  }
  return { fallThrough: false, circuitFailure: false, kind: "error", status: null };
}

function resolveClientConfig(deps: LlmCallDeps): { apiKey: string | null; baseURL: string | null } {
  const env = process.env;
  const apiKey = deps.apiKey !== undefined ? deps.apiKey : env.ANTHROPIC_API_KEY?.trim() || null;
  const baseURL = deps.baseURL !== undefined ? deps.baseURL : env.ANTHROPIC_BASE_URL?.trim() || null;
  return { apiKey, baseURL };
}

// One SDK client per (key, base URL): it holds the HTTP agent and its keep-alive connections.
const clients = new Map<string, Anthropic>();

function clientFor(apiKey: string | null, baseURL: string | null, timeoutMs: number): Anthropic {
  const key = JSON.stringify([apiKey, baseURL, timeoutMs]);
  let c = clients.get(key);
  if (!c) {
    c = new Anthropic({
      // A base URL without a key is a keyless proxy (or the local fake); the SDK insists on some key.
      apiKey: apiKey ?? "actp-no-key",
      ...(baseURL ? { baseURL } : {}),
      // The route is the retry policy: falling to the next model beats retrying an overloaded one.
      maxRetries: 0,
      timeout: timeoutMs,
    });
    clients.set(key, c);
  }
  return c;
}

export async function runLlmCall(info: JobInfo, taskType: string, request: LlmRequest, deps: LlmCallDeps = {}): Promise<LlmResult> {
  if (!request || !Array.isArray(request.messages) || request.messages.length === 0) {
    throw new ToolInputError("an LLM request needs at least one message");
  }
  if (!Number.isInteger(request.max_tokens) || request.max_tokens < 1) {
    throw new ToolInputError("max_tokens must be a positive integer: it bounds the cost reserved for the call");
  }
  if (info.signal.aborted) throw info.signal.reason;
  const policy = deps.policy ?? sharedPolicy;
  const breakers = deps.breakers ?? circuitBreakersFor(info.db);
  const actionType = deps.actionType ?? "llm_call";
  const { texts, flatTokens } = requestTexts(request);
  const inputTokens = estimateInputTokens(texts, request.messages.length) + flatTokens;

  const decision = await route(info.db, taskType, { context_length: inputTokens, budget_remaining: deps.budgetRemaining ?? null });
  const { apiKey, baseURL } = resolveClientConfig(deps);
  if (!apiKey && !baseURL) throw new LlmNotConfiguredError({ task_type: taskType, route: decision });
  const client = clientFor(apiKey, baseURL, deps.timeoutMs ?? 60_000);

  const attempts: LlmAttempt[] = [];
  let firstDenial: ToolDeniedError | null = null;

  for (const cand of decision.candidates) {
    const tool = modelToolName(cand.model);
    const worst = worstCaseCostUsd(inputTokens, request.max_tokens, cand);
    if (cand.max_cost_usd !== null && worst > cand.max_cost_usd) {
      attempts.push({ model: cand.model, outcome: "over_max_cost", cost_usd: worst });
      continue;
    }
    const callId = randomUUID();
    const started = startedEvent(info, tool, { call_id: callId, action_type: actionType });
    let verdict: BeginResult;
    try {
      // Round trip 1: the policy check and tool.call_started (or the denial's tool.call_failed).
      verdict = await policy.begin(
        info.db,
        { agent_slug: info.agentSlug, tool_name: tool, action_type: actionType, run_id: info.jobId, estimated_cost_usd: worst },
        started,
      );
    } catch (err) {
      // As in ctx.tool: on the timeline unless it was our own event the registry refused.
      if (!(err instanceof ActpError && err.code.startsWith("events."))) {
        await emitFailed(info, tool, { call_id: callId, kind: "policy_denied", error: errorInfo(err, "policy") });
      }
      throw err;
    }
    if (!verdict.allowed) {
      firstDenial ??= new ToolDeniedError(tool, verdict.reason, verdict.retry_after, verdict.policy_id);
      attempts.push({ model: cand.model, outcome: "denied", message: verdict.reason });
      continue;
    }
    const reservation = verdict.reservation_id;

    // Not closed in the database a moment ago: this process's cached "closed" is not trusted.
    if (!verdict.started) breakers.forget(tool);
    const ticket = await breakers.acquire(tool);
    if (ticket.decision === "reject" || ticket.decision === "fallback") {
      await policy.end(info.db, reservation, 0, failedEvent(info, tool, {
        call_id: callId,
        kind: "circuit_open",
        error: { message: `circuit of ${tool} is ${ticket.state}`, code: "tool.circuit_open", where: "circuit" },
        retry_after_ms: ticket.retry_after * 1000,
      }));
      attempts.push({ model: cand.model, outcome: "circuit_open" });
      continue;
    }
    if (!verdict.started) await emit(info.db, started);

    const t0 = performance.now();
    let message: Message;
    try {
      message = await client.messages.create({ ...request, model: cand.model, stream: false }, { signal: info.signal });
    } catch (err) {
      const durationMs = Math.round(performance.now() - t0);
      const c = classifyLlmError(err);
      // Anthropic does not bill a request that returned an error: the reservation is released.
      await policy.end(info.db, reservation, 0, failedEvent(info, tool, {
        call_id: callId,
        kind: c.kind,
        error: errorInfo(err, tool),
        duration_ms: durationMs,
        ...(c.status === null ? {} : { http_status: c.status }),
      }));
      if (!(err instanceof APIUserAbortError)) await breakers.record(ticket, !c.circuitFailure, errorInfo(err, tool));
      attempts.push({ model: cand.model, outcome: "failed", status: c.status, message: errorInfo(err).message, duration_ms: durationMs });
      if (!c.fallThrough) throw err;
      continue;
    }
    const durationMs = Math.round(performance.now() - t0);
    const cost = usageCostUsd(message.usage, cand);
    // Round trip 2: settle at the usage cost and tool.call_completed.
    await policy.end(info.db, reservation, cost, completedEvent(info, tool, {
      call_id: callId,
      duration_ms: durationMs,
      cost_usd: cost,
      input_tokens: message.usage.input_tokens,
      output_tokens: message.usage.output_tokens,
      task_type: taskType,
    }));
    await breakers.record(ticket, true);
    attempts.push({ model: cand.model, outcome: "completed", cost_usd: cost, duration_ms: durationMs });
    const text = message.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
    return { message, text, model: cand.model, task_type: taskType, cost_usd: cost, attempts, route: decision };
  }

  if (firstDenial && attempts.every((a) => a.outcome === "denied")) throw firstDenial;
  throw new LlmUnavailableError(taskType, attempts, decision.skipped);
}
