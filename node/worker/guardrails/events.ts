// The tool.call_* events of ctx.tool and ctx.llm, with the job's ids on every row so they form the
// job's timeline. Error text is scrubbed of credential-looking strings before it is written.
// The builders make the events the two combined statements (policy.ts) carry; emitFailed writes
// one on its own, for a policy check that threw instead of answering.
import { emit } from "../../../shared/events/emit.ts";
import { redactSecrets, type EventInput } from "../../../shared/events/registry.ts";
import { ActpError } from "../../../shared/errors.ts";
import type { JobInfo } from "../job-info.ts";

export type FailureKind = "error" | "timeout" | "policy_denied" | "rate_limited" | "circuit_open";

export interface ErrorInfo {
  message: string;
  code?: string;
  where?: string;
}

export function errorInfo(err: unknown, where?: string): ErrorInfo {
  const raw = err instanceof Error ? err.message : String(err);
  const message = redactSecrets((raw || "error").slice(0, 4000));
  const code = err instanceof ActpError ? err.code : err instanceof Error && err.name !== "Error" ? err.name.slice(0, 200) : undefined;
  return { message, ...(code ? { code } : {}), ...(where ? { where: where.slice(0, 200) } : {}) };
}

/** A tool.call_* event: its envelope and payload, before validation. */
export type CallEvent = EventInput & { type: "tool.call_started" | "tool.call_completed" | "tool.call_failed"; payload: Record<string, unknown> };

function envelope(info: JobInfo, tool: string) {
  return { job_id: info.jobId, step_id: info.currentStep() ?? null, agent_slug: info.agentSlug, tool_name: tool };
}

export type StartedPayload = { call_id: string; action_type: string; input_hash?: string };
export type CompletedPayload = { call_id: string; duration_ms: number; cost_usd: number } & Record<string, unknown>;
export type FailedFields = { kind: FailureKind; error: ErrorInfo; duration_ms?: number; retry_after_ms?: number } & Record<string, unknown>;
export type FailedPayload = { call_id: string } & FailedFields;

export const startedEvent = (info: JobInfo, tool: string, p: StartedPayload): CallEvent => ({ type: "tool.call_started", ...envelope(info, tool), payload: p });
export const completedEvent = (info: JobInfo, tool: string, p: CompletedPayload): CallEvent => ({ type: "tool.call_completed", ...envelope(info, tool), payload: p });
export const failedEvent = (info: JobInfo, tool: string, p: FailedPayload): CallEvent => ({ type: "tool.call_failed", ...envelope(info, tool), payload: p });

export interface DenialFacts {
  reason: string;
  message: string;
  retry_after: number | null;
  policy_id: string | null;
}

/**
 * The payload of a denial's tool.call_failed. actp_tool_call_begin builds the same shape in SQL
 * (migrations/20261124000024_tool_calls.sql); tests hold the two equal.
 */
export function deniedPayload(callId: unknown, d: DenialFacts): Record<string, unknown> {
  return {
    ...(typeof callId === "string" ? { call_id: callId } : {}),
    kind: d.reason === "rate_limited" ? "rate_limited" : "policy_denied",
    error: { message: (d.message || d.reason).slice(0, 4000), code: `policy.${d.reason}`.slice(0, 200), where: "policy" },
    ...(d.retry_after === null ? {} : { retry_after_ms: Math.round(d.retry_after * 1000) }),
    ...(d.policy_id === null ? {} : { policy_id: d.policy_id }),
    reason: d.reason,
  };
}

/** The tool.call_failed a denial of `started`'s call writes: same envelope, same call_id. */
export function deniedEvent(started: EventInput, d: DenialFacts): CallEvent {
  return { ...started, type: "tool.call_failed", payload: deniedPayload(started.payload.call_id, d) };
}

export const emitFailed = (info: JobInfo, tool: string, p: FailedPayload) => emit(info.db, failedEvent(info, tool, p));
