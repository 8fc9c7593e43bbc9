// What an agent throws to tell the runtime what to do with a failure (the Inngest / DBOS idiom):
//   throw new NonRetriableError("input names a deleted account")       -> DLQ after this attempt
//   throw new RetryAfterError("rate limited", 30_000)                    -> run again in 30 s
//   throw new RetryAfterError("quota resets", new Date(resetAt))         -> run again at that time
// Both carry a catalog code, so the DLQ entry and the timeline say which it was. The worker reads
// them with isNonRetriableError / retryAfterMsOf rather than instanceof, so an agent module that
// ended up with its own copy of actp is still understood.
import type { ErrorCode } from "../errors/catalog.ts";

export interface FailureOptions {
  cause?: unknown;
}

/** The job goes to the DLQ after this attempt: retrying cannot help. */
export class NonRetriableError extends Error {
  readonly code: ErrorCode = "jobs.non_retriable";
  readonly retriable = false as const;
  constructor(message: string, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NonRetriableError";
  }
}

/** The job runs again after retryAfterMs (or at a Date), through pg-boss's own startAfter. */
export class RetryAfterError extends Error {
  readonly code: ErrorCode = "jobs.retry_after";
  /** Milliseconds from when the error was made; never negative. */
  readonly retryAfterMs: number;
  /** When the job should run again. */
  readonly retryAt: Date;
  constructor(message: string, retryAfter: number | Date, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RetryAfterError";
    const now = Date.now();
    const at = retryAfter instanceof Date ? retryAfter.getTime() : now + retryAfter;
    if (!Number.isFinite(at)) throw new TypeError("RetryAfterError: retryAfter must be a number of milliseconds or a valid Date");
    this.retryAfterMs = Math.max(0, Math.round(at - now));
    this.retryAt = new Date(now + this.retryAfterMs);
  }
}

const field = (err: unknown, key: string): unknown => (typeof err === "object" && err !== null ? (err as Record<string, unknown>)[key] : undefined);

/** True for a NonRetriableError (from any copy of actp). */
export function isNonRetriableError(err: unknown): boolean {
  return err instanceof NonRetriableError || (field(err, "name") === "NonRetriableError" && field(err, "code") === "jobs.non_retriable");
}

/** The delay a RetryAfterError (from any copy of actp) asks for, or null for any other error. */
export function retryAfterMsOf(err: unknown): number | null {
  if (err instanceof RetryAfterError) return err.retryAfterMs;
  if (field(err, "name") !== "RetryAfterError") return null;
  const ms = field(err, "retryAfterMs");
  return typeof ms === "number" && Number.isFinite(ms) && ms >= 0 ? ms : null;
}
