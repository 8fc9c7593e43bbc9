// What the runtime does with a failed attempt, decided from what was thrown: run it again after
// pg-boss's backoff, run it again at a given time, or stop and dead-letter it now. Inngest and DBOS
// draw the same lines: a mistake that another attempt would repeat (bad input, a duplicate step name,
// missing configuration, a denial no wait can lift) is not retried.
import { CircuitOpenError, LlmNotConfiguredError, ToolDeniedError, ToolInputError } from "./guardrails/errors.ts";
import { DuplicateStepError, NonRetriableError, RetryAfterError } from "./errors.ts";
import { NetDeniedError, NetFetchError } from "../../shared/net/guard.ts";

export type FailureDecision =
  /** pg-boss's retry with the queue's (agent's) backoff, while retries remain. */
  | { kind: "backoff" }
  /** The next attempt not before `ms` from now (still counted against the retry limit). */
  | { kind: "after"; ms: number; reason: string }
  /** No retry: straight to the DLQ. */
  | { kind: "never"; reason: string };

// Policy denials that waiting cannot lift: the agent's capabilities, the allowlist or a person said no.
const PERMANENT_DENIALS = new Set([
  "unknown_agent",
  "agent_disabled",
  "tool_not_permitted",
  "invalid_url",
  "url_required",
  "domain_not_allowed",
  "approval_denied",
]);

/** The agent's input did not match its schema when the attempt started: no attempt will do better. */
export class InvalidJobInputError extends NonRetriableError {
  override readonly code = "jobs.invalid_input";
  constructor(
    agent: string,
    readonly issues: { path: (string | number)[]; message: string; code: string }[],
    options: { cause?: unknown } = {},
  ) {
    const first = issues[0];
    super(
      `input does not match the input schema of agent "${agent}"` +
        (first ? `: ${first.path.join(".") || "(root)"}: ${first.message}${issues.length > 1 ? ` (+${issues.length - 1} more)` : ""}` : ""),
      options,
    );
    this.name = "InvalidJobInputError";
  }
}

// Errors may be wrapped by user code (new Error("...", { cause })): the decision follows the chain.
function* causes(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let e = err; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    yield e;
    if (typeof e !== "object") return;
  }
}

export function decideFailure(err: unknown): FailureDecision {
  for (const e of causes(err)) {
    if (e instanceof RetryAfterError) return { kind: "after", ms: e.retryAfterMs, reason: "retry_after" };
    if (e instanceof InvalidJobInputError) return { kind: "never", reason: "invalid_input" };
    if (e instanceof NonRetriableError) return { kind: "never", reason: "non_retriable" };
    if (e instanceof DuplicateStepError) return { kind: "never", reason: "duplicate_step" };
    if (e instanceof ToolInputError) return { kind: "never", reason: "invalid_tool_input" };
    if (e instanceof LlmNotConfiguredError) return { kind: "never", reason: "not_configured" };
    if (e instanceof ToolDeniedError) {
      if (e.retry_after !== null && e.retry_after >= 0) return { kind: "after", ms: e.retry_after * 1000, reason: "policy_retry_after" };
      if (PERMANENT_DENIALS.has(e.reason)) return { kind: "never", reason: "policy_denied" };
      return { kind: "backoff" };
    }
    // ctx.fetch refused a hop (off the allowlist, a private address): the same URL is refused again.
    if (e instanceof NetDeniedError) return { kind: "never", reason: "net_denied" };
    // The page itself is too large or of a type refused: asking again gets the same page.
    if (e instanceof NetFetchError && ["content_type_not_allowed", "response_too_large", "body_not_replayable"].includes(e.reason)) {
      return { kind: "never", reason: `net_${e.reason}` };
    }
    if (e instanceof CircuitOpenError) return { kind: "after", ms: e.retry_after * 1000, reason: "circuit_open" };
  }
  return { kind: "backoff" };
}
