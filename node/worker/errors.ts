// Why a job attempt stopped, and how a thrown value becomes the error actp records.
import type { JobError } from "../../shared/jobs/contracts.ts";
import type { ErrorCode } from "../../shared/errors/catalog.ts";

/** The attempt ran past its queue's expireInSeconds. */
export class JobTimeoutError extends Error {
  readonly code: ErrorCode = "jobs.timed_out";
  constructor(readonly timeoutMs: number) {
    super(`job attempt exceeded its timeout of ${timeoutMs} ms`);
    this.name = "JobTimeoutError";
  }
}

/** The job was cancelled, or its claim was given to another worker, while it ran. */
export class JobAbortedError extends Error {
  readonly code: ErrorCode = "jobs.aborted";
  constructor(message = "job was cancelled or its claim was released") {
    super(message);
    this.name = "JobAbortedError";
  }
}

/** A step name was used twice in one run: step names identify checkpoints, so they must be unique. */
export class DuplicateStepError extends Error {
  readonly code: ErrorCode = "jobs.duplicate_step";
  constructor(readonly step: string) {
    super(`step "${step}" was already used in this run; step names must be unique within a job`);
    this.name = "DuplicateStepError";
  }
}

/** Options every runtime-understood error takes (the standard `cause`). */
export interface RuntimeErrorOptions {
  cause?: unknown;
}

/**
 * Thrown by a handler (or a step) when running the job again cannot help: the attempt fails and the
 * job goes to the DLQ at once, with this message as its reason (Inngest's NonRetriableError, DBOS's
 * maxRecoveryAttempts-free failure).
 */
export class NonRetriableError extends Error {
  readonly code: string = "jobs.non_retriable";
  constructor(message: string, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NonRetriableError";
  }
}

/**
 * Thrown when the job should run again, but not before a given time (a provider's Retry-After, a
 * quota that resets). The next attempt is scheduled then, through pg-boss's startAfter; it still
 * counts against the agent's retry limit.
 */
export class RetryAfterError extends Error {
  readonly code: string = "jobs.retry_after";
  /** How long from when it was thrown the next attempt waits, in ms. */
  readonly retryAfterMs: number;
  constructor(message: string, retryAfter: number | Date, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RetryAfterError";
    const ms = retryAfter instanceof Date ? retryAfter.getTime() - Date.now() : retryAfter;
    if (!Number.isFinite(ms)) throw new TypeError("RetryAfterError: retryAfter must be a number of ms or a valid Date");
    this.retryAfterMs = Math.max(0, Math.round(ms));
  }
}

const clip = (s: string, max: number) => (s.length <= max ? s : s.slice(0, max - 1) + "…");

/** The top frame of a stack ("fn (file:line:col)"), without the machine's absolute paths. */
export function topFrame(stack: string | undefined): string | undefined {
  const line = stack?.split("\n").find((l) => /^\s+at /.test(l));
  if (!line) return undefined;
  const cwd = typeof process !== "undefined" ? process.cwd() + "/" : "";
  return clip(line.trim().replace(/^at /, "").replace("file://", "").split(cwd).join(""), 200);
}

export function toJobError(err: unknown, step: string | null): JobError {
  const e = err instanceof Error ? err : new Error(typeof err === "string" ? err : JSON.stringify(err) ?? String(err));
  const code = (e as { code?: unknown }).code;
  const out: JobError = { message: clip(e.message || e.name || "error", 4000), name: clip(e.name, 200) };
  const where = topFrame(e.stack);
  if (where) out.where = where;
  if (typeof code === "string" && code.length > 0) out.code = clip(code, 200);
  if (step) out.step = step;
  return out;
}
