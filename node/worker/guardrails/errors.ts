// Typed errors of ctx.tool and ctx.llm. Each is an ActpError with a stable code, so the job runtime,
// the DLQ and a replay can switch on it; the fields an agent needs (reason, retry_after) are typed.
import { ActpError } from "../../../shared/errors.ts";

/** The policy service said no. retry_after (seconds) is set when waiting helps (rate limits, budgets). */
export class ToolDeniedError extends ActpError {
  readonly tool: string;
  readonly reason: string;
  readonly retry_after: number | null;
  readonly policy_id: string | null;
  constructor(tool: string, reason: string, retryAfter: number | null, policyId: string | null) {
    super("tool.denied", `call to ${tool} denied by policy: ${reason}`, {
      details: { tool, reason, retry_after: retryAfter, policy_id: policyId },
    });
    this.name = "ToolDeniedError";
    this.tool = tool;
    this.reason = reason;
    this.retry_after = retryAfter;
    this.policy_id = policyId;
  }
}

/** The tool's breaker is open (or another worker holds its probe) and no fallback could take the call. */
export class CircuitOpenError extends ActpError {
  readonly tool: string;
  readonly retry_after: number;
  readonly fallback_tool: string | null;
  constructor(tool: string, retryAfter: number, fallbackTool: string | null) {
    const hint = fallbackTool ? ` (fallback ${fallbackTool} configured, but the caller supplied no function for it)` : "";
    super("tool.circuit_open", `circuit of ${tool} is open; retry in ${retryAfter}s${hint}`, {
      details: { tool, retry_after: retryAfter, fallback_tool: fallbackTool },
    });
    this.name = "CircuitOpenError";
    this.tool = tool;
    this.retry_after = retryAfter;
    this.fallback_tool = fallbackTool;
  }
}

export class ToolTimeoutError extends ActpError {
  readonly tool: string;
  readonly timeout_ms: number;
  constructor(tool: string, timeoutMs: number) {
    super("tool.timeout", `call to ${tool} did not finish within ${timeoutMs} ms`, { details: { tool, timeout_ms: timeoutMs } });
    this.name = "ToolTimeoutError";
    this.tool = tool;
    this.timeout_ms = timeoutMs;
  }
}

/** Bad input to ctx.tool itself (tool name, options, arguments that are not JSON). Nothing was called. */
export class ToolInputError extends ActpError {
  constructor(message: string, details?: unknown) {
    super("tool.invalid_input", message, { details });
    this.name = "ToolInputError";
  }
}

/** No Anthropic API key and no base URL: ctx.llm cannot call anything (route() still answers). */
export class LlmNotConfiguredError extends ActpError {
  constructor(details?: unknown) {
    super(
      "llm.not_configured",
      "no Anthropic API key (ANTHROPIC_API_KEY) and no base URL (ANTHROPIC_BASE_URL): ctx.llm cannot call a model",
      { details },
    );
    this.name = "LlmNotConfiguredError";
  }
}

export interface LlmAttempt {
  model: string;
  outcome: "completed" | "failed" | "denied" | "circuit_open" | "over_max_cost";
  status?: number | null;
  message?: string;
  cost_usd?: number;
  duration_ms?: number;
}

/** Every candidate of the route was skipped, refused or failed. */
export class LlmUnavailableError extends ActpError {
  readonly task_type: string;
  readonly attempts: LlmAttempt[];
  constructor(taskType: string, attempts: LlmAttempt[], skipped: unknown[]) {
    super("llm.unavailable", `no model could serve task type ${taskType} (${attempts.length} attempted, ${skipped.length} skipped by the route)`, {
      details: { task_type: taskType, attempts, skipped },
    });
    this.name = "LlmUnavailableError";
    this.task_type = taskType;
    this.attempts = attempts;
  }
}
