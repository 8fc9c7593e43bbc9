// ctx.tool(name, args, options, fn): every guardrail of a tool call, in the order the issue fixes:
// policy check (budget reservation, rate limit, allowlist for options.url, approval by args hash)
// -> circuit breaker (allow, probe, or the configured fallback tool) -> fn -> settle -> events.
// A refusal throws a typed error and is still written to the job's timeline as tool.call_failed.
// With the breaker closed that is two round trips: policy check + tool.call_started in one
// statement, settle + tool.call_completed / tool.call_failed in another (policy.ts).
import { randomUUID } from "node:crypto";
import { ActpError, zodIssues, zodIssuesLine } from "../../../shared/errors.ts";
import { ToolCallOptionsSchema } from "../../../shared/jobs/ctx-contracts.ts";
import { emit } from "../../../shared/events/emit.ts";
import { circuitBreakersFor, type CircuitBreakers, type CircuitTicket, ToolName } from "../../../shared/circuits/index.ts";
import type { JobInfo } from "../job-info.ts";
import { canonicalizeUrl } from "../../../shared/net/allowlist.ts";
import { argsHash } from "./args-hash.ts";
import { CircuitOpenError, ToolDeniedError, ToolInputError, ToolTimeoutError } from "./errors.ts";
import { completedEvent, emitFailed, errorInfo, failedEvent, startedEvent, type FailedFields, type FailureKind } from "./events.ts";
import { sharedPolicy, type BeginResult, type PolicyPort } from "./policy.ts";

/** What a tool function gets: where it runs, how to stop, and how to report what it really cost. */
export interface ToolCallScope {
  readonly toolName: string;
  readonly callId: string;
  /** True when the breaker of the requested tool was open and this is its fallback running instead. */
  readonly isFallback: boolean;
  /** options.url in the canonical form the allowlist checked: fetch this, not the raw string. */
  readonly url: string | null;
  /** Aborted on timeout_ms or when the job is cancelled. */
  readonly signal: AbortSignal;
  /** The actual cost in US dollars; without it the estimate is settled. */
  reportCost(usd: number): void;
  /**
   * Every network hop the call made (ctx.fetch): written into its tool.call_completed or
   * tool.call_failed, so the timeline shows each hop's final host.
   */
  reportHops(hops: readonly NetHop[]): void;
}

/** One hop of a guarded request as the tool events record it. */
export interface NetHop {
  host: string;
  status: number | null;
  address?: string | null;
}

/** How long a call waits for the first call of its tool to settle (cost_unknown) before failing. */
export const COST_PROBE_WAIT_MS = 30_000;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export type ToolFn<T> = (call: ToolCallScope) => Promise<T> | T;

export interface ToolCallOptions<T = unknown> {
  /** Policy action type (safety rules match on it). Default "tool_call". */
  action_type?: string;
  /** Reserved against the budgets before the call. Default 0. */
  estimated_cost_usd?: number;
  /** The URL the call will reach: checked against the allowlist policies. */
  url?: string;
  timeout_ms?: number;
  /**
   * Functions for fallback tools, by tool name. When this tool's breaker is open and its config names
   * a fallback, the call goes to fallbacks[fallback] (with its own policy check and breaker);
   * without one the call fails with CircuitOpenError.
   */
  fallbacks?: Readonly<Record<string, ToolFn<T>>>;
}

export interface ToolCallDeps {
  policy?: PolicyPort;
  breakers?: CircuitBreakers;
  /** How long to wait on cost_unknown for the tool's first call to settle (default COST_PROBE_WAIT_MS). */
  costProbeWaitMs?: number;
}

// The contract of the options is shared/jobs/ctx-contracts.ts (also what the API reference shows).
function validate(name: string, options: ToolCallOptions<unknown>): void {
  if (!ToolName.safeParse(name).success) throw new ToolInputError(`invalid tool name ${JSON.stringify(String(name).slice(0, 80))}`);
  const r = ToolCallOptionsSchema.safeParse(options ?? {});
  if (!r.success) throw new ToolInputError(`invalid options for ${name}: ${zodIssuesLine(r.error)}`, zodIssues(r.error));
}

/** Runs fn under a deadline and the job's signal; rejects as soon as either fires, even if fn ignores it. */
async function runBounded<T>(
  tool: string,
  parent: AbortSignal,
  timeoutMs: number | undefined,
  body: (signal: AbortSignal) => Promise<T> | T,
): Promise<T> {
  const ctrl = new AbortController();
  const onParent = () => ctrl.abort(parent.reason);
  parent.addEventListener("abort", onParent, { once: true });
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => ctrl.abort(new ToolTimeoutError(tool, timeoutMs)), timeoutMs);
  try {
    return await new Promise<T>((resolve, reject) => {
      if (ctrl.signal.aborted) return reject(ctrl.signal.reason);
      ctrl.signal.addEventListener("abort", () => reject(ctrl.signal.reason), { once: true });
      Promise.resolve()
        .then(() => body(ctrl.signal))
        .then(resolve, reject);
    });
  } finally {
    clearTimeout(timer);
    parent.removeEventListener("abort", onParent);
  }
}

export async function runToolCall<T>(
  info: JobInfo,
  name: string,
  args: unknown,
  options: ToolCallOptions<T>,
  fn: ToolFn<T>,
  deps: ToolCallDeps = {},
): Promise<T> {
  validate(name, options);
  if (info.signal.aborted) throw info.signal.reason;
  const policy = deps.policy ?? sharedPolicy;
  const breakers = deps.breakers ?? circuitBreakersFor(info.db);
  const hash = argsHash(args);
  const actionType = options.action_type ?? "tool_call";
  const estimate = options.estimated_cost_usd ?? 0;
  const canonical = options.url === undefined ? null : canonicalizeUrl(options.url);
  const url = canonical?.ok ? canonical.href : null;

  const attempt = async (tool: string, toolFn: ToolFn<T>, isFallback: boolean): Promise<T> => {
    let callId = randomUUID();
    let started = startedEvent(info, tool, { call_id: callId, action_type: actionType, input_hash: hash });

    // Round trip 1: the policy check, and tool.call_started (or the denial's tool.call_failed).
    let verdict: BeginResult;
    // cost_unknown: another call of this tool, the first that nothing bounds, is in flight and will
    // teach the budget what the tool costs. This call waits for that settle here, inside the
    // attempt, and asks again: failing the attempt would abort that very call with it.
    const waitUntil = Date.now() + (deps.costProbeWaitMs ?? COST_PROBE_WAIT_MS);
    for (let round = 0; ; round++) {
      try {
        verdict = await policy.begin(
          info.db,
          {
            agent_slug: info.agentSlug,
            tool_name: tool,
            action_type: actionType,
            run_id: info.jobId,
            estimated_cost_usd: estimate,
            ...(options.url === undefined ? {} : { target_url: options.url }),
            args_hash: hash,
          },
          started,
        );
      } catch (err) {
        // Bad input the policy service refuses: still on the timeline (the statement wrote nothing).
        // An event the registry refused was refused before anything was sent; another would be too.
        if (!(err instanceof ActpError && err.code.startsWith("events."))) {
          await emitFailed(info, tool, { call_id: callId, kind: "policy_denied", error: errorInfo(err, "policy") });
        }
        throw err;
      }
      if (verdict.allowed || verdict.reason !== "cost_unknown" || Date.now() >= waitUntil) break;
      await abortableSleep(Math.min(100 * 2 ** round, 1_000, Math.max(0, waitUntil - Date.now())), info.signal);
      callId = randomUUID();
      started = startedEvent(info, tool, { call_id: callId, action_type: actionType, input_hash: hash });
    }
    if (!verdict.allowed) throw new ToolDeniedError(tool, verdict.reason, verdict.retry_after, verdict.policy_id);
    const reservation = verdict.reservation_id;
    const release = (p: FailedFields, cost = 0) => policy.end(info.db, reservation, cost, failedEvent(info, tool, { call_id: callId, ...p }));

    // The database saw the breaker closed in the same statement: this process's cached "closed",
    // if any, agrees. Otherwise the cache may be stale, so the breaker is asked afresh.
    if (!verdict.started) breakers.forget(tool);
    let ticket: CircuitTicket;
    try {
      ticket = await breakers.acquire(tool);
    } catch (err) {
      await release({ kind: "error", error: errorInfo(err, "circuit") });
      throw err;
    }
    if (ticket.decision === "reject" || ticket.decision === "fallback") {
      const fallbackTool = ticket.decision === "fallback" ? ticket.fallback_tool : null;
      const fallbackFn = fallbackTool && !isFallback ? options.fallbacks?.[fallbackTool] : undefined;
      await release({
        kind: "circuit_open",
        error: { message: `circuit of ${tool} is ${ticket.state}`, code: "tool.circuit_open", where: "circuit" },
        retry_after_ms: ticket.retry_after * 1000,
        ...(fallbackFn ? { fallback_tool: fallbackTool } : {}),
      });
      // One hop only: a fallback's own fallback is not followed, so a cycle of fallbacks cannot loop.
      if (fallbackTool && fallbackFn) return attempt(fallbackTool, fallbackFn, true);
      throw new CircuitOpenError(tool, ticket.retry_after, fallbackTool);
    }
    // A probe (or a call let through by a cached "closed"): begin left the start to be written now.
    if (!verdict.started) await emit(info.db, started);

    let reported: number | undefined;
    let hops: NetHop[] | undefined;
    const hopFields = () => (hops === undefined ? {} : { hops });
    const t0 = performance.now();
    let value: T;
    try {
      value = await runBounded(tool, info.signal, options.timeout_ms, (signal) =>
        toolFn({
          toolName: tool,
          callId,
          isFallback,
          url,
          signal,
          reportCost(usd: number) {
            if (typeof usd !== "number" || !Number.isFinite(usd) || usd < 0) throw new ToolInputError("reportCost needs a finite number >= 0");
            reported = usd;
          },
          reportHops(list: readonly NetHop[]) {
            hops = list.slice(0, 20).map((h) => ({ host: h.host, status: h.status, ...(h.address ? { address: h.address } : {}) }));
          },
        }),
      );
    } catch (err) {
      const durationMs = Math.round(performance.now() - t0);
      const cancelled = info.signal.aborted && err === info.signal.reason;
      // A refusal by the outbound guard (a redirect off the allowlist, a private address) is a
      // policy decision, not a sign of the tool's health: it never trips the breaker.
      const refused = err instanceof ActpError && err.code === "net.denied";
      const kind: FailureKind = err instanceof ToolTimeoutError ? "timeout" : refused ? "policy_denied" : "error";
      // Round trip 2 (failure). A failed call may still have cost money; without a report the
      // estimate is the honest figure.
      await release({ kind, error: errorInfo(err, tool), duration_ms: durationMs, ...hopFields() }, reported ?? estimate);
      // A cancelled job says nothing about the tool's health.
      if (!cancelled && !refused) await breakers.record(ticket, false, errorInfo(err, tool));
      // A refused probe did not fail either: it hands the probe back as a success.
      else if (refused && ticket.decision === "probe") await breakers.record(ticket, true);
      throw err;
    }
    const durationMs = Math.round(performance.now() - t0);
    const cost = reported ?? estimate;
    // Round trip 2: settle and tool.call_completed. A success on a closed breaker sends nothing.
    await policy.end(info.db, reservation, cost, completedEvent(info, tool, { call_id: callId, duration_ms: durationMs, cost_usd: cost, ...hopFields() }));
    await breakers.record(ticket, true);
    return value;
  };

  return attempt(name, fn, false);
}
