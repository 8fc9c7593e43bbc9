// The tool.call_* events of ctx.tool and ctx.llm, with the job's ids on every row so they form the
// job's timeline. Error text is scrubbed of credential-looking strings before it is written.
import { emit } from "../../../shared/events/emit.ts";
import { redactSecrets } from "../../../shared/events/registry.ts";
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

function row(info: JobInfo, tool: string) {
  return { job_id: info.jobId, step_id: info.currentStep() ?? null, agent_slug: info.agentSlug, tool_name: tool };
}

export function emitStarted(info: JobInfo, tool: string, p: { call_id: string; action_type: string; input_hash?: string }) {
  return emit(info.db, { type: "tool.call_started", ...row(info, tool), payload: p });
}

export function emitCompleted(info: JobInfo, tool: string, p: { call_id: string; duration_ms: number; cost_usd: number } & Record<string, unknown>) {
  return emit(info.db, { type: "tool.call_completed", ...row(info, tool), payload: p });
}

export function emitFailed(
  info: JobInfo,
  tool: string,
  p: { call_id: string; kind: FailureKind; error: ErrorInfo; duration_ms?: number; retry_after_ms?: number } & Record<string, unknown>,
) {
  return emit(info.db, { type: "tool.call_failed", ...row(info, tool), payload: p });
}
