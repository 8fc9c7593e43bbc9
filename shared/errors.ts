// One error family for the whole platform (STYLE.md §4): a stable string code declared in the error
// catalog (shared/errors/catalog.ts), the HTTP status the catalog gives it, and the same body shape
// everywhere: { error: { code, message, details? } }.
import type { z } from "zod";
import { ERROR_CODES, isErrorCode, type ErrorCode } from "./errors/catalog.ts";

export { ERROR_CODES, errorCodes, exitStatusFor, isErrorCode, type ErrorCode } from "./errors/catalog.ts";

export type ErrorBody = { error: { code: string; message: string; details?: unknown } };

export interface ActpErrorOptions {
  details?: unknown;
  cause?: unknown;
}

export class ActpError extends Error {
  readonly code: ErrorCode;
  /** From the catalog: one code, one status, wherever it is raised. */
  readonly status: number;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, options: ActpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ActpError";
    this.code = code;
    this.status = statusOf(code);
    if (options.details !== undefined) this.details = options.details;
  }
  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

/** The HTTP status of a code, looked up in the catalog; an undeclared code is a server bug (500). */
export function statusOf(code: string): number {
  return isErrorCode(code) ? ERROR_CODES[code].status : 500;
}

export const unauthorized = (message = "missing or invalid bearer token") => new ActpError("auth.unauthorized", message);
export const forbidden = (message = "this action needs the service_role key") => new ActpError("auth.forbidden", message);
// The status of these comes from the catalog, whatever the helper is called; kept so call sites read
// as what they mean. New code may just write `new ActpError(code, message, { details })`.
export const badRequest = (code: ErrorCode, message: string, details?: unknown) => new ActpError(code, message, { details });
export const notFound = (code: ErrorCode, message: string) => new ActpError(code, message);
export const conflict = (code: ErrorCode, message: string, details?: unknown) => new ActpError(code, message, { details });

/** zod's issues as the `details` of a 400: path, message and zod's issue code, nothing else. */
export function zodIssues(error: z.ZodError): { path: PropertyKey[]; message: string; code: string }[] {
  return error.issues.map((i) => ({ path: i.path, message: i.message, code: i.code }));
}

/** zod's issues as one line ("a.b: message; c: message"), for a CLI or a log. */
export function zodIssuesLine(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ");
}

/**
 * Parses with a contract schema; on failure throws the 400 every entry point answers (HTTP, SDK,
 * CLI): `code`, a message, and zod's issues as details. The one "zod issues to 400" conversion.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  code: ErrorCode = "validation.failed",
  message = "request does not match the contract",
): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ActpError(code, message, { details: zodIssues(r.error) });
  return r.data;
}

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

/**
 * Maps a Postgres error to an ActpError. plpgsql raises P0001 with a message that starts with our
 * code ("events.append_only: ..."), its status from the catalog; constraint and privilege errors get
 * generic codes. Anything else is not a client error and is returned as null so the caller rethrows
 * it (a 500).
 */
export function fromPgError(err: unknown): ActpError | null {
  if (!err || typeof err !== "object") return null;
  const e = err as PgLikeError;
  const message = e.message ?? "database error";
  switch (e.code) {
    case "P0001": {
      const m = /^([a-z_]+(?:\.[a-z_]+)+):\s*(.*)$/s.exec(message);
      if (!m) return new ActpError("db.raised", message);
      const code = m[1]!;
      // tests/pg/error-catalog.test.ts keeps every code the database can raise in the catalog.
      if (!isErrorCode(code)) return new ActpError("db.raised", message, { details: { undeclared_code: code } });
      return new ActpError(code, m[2] ?? message);
    }
    case "23505":
      return new ActpError("db.unique_violation", e.detail ?? message, { details: { constraint: e.constraint } });
    case "23503":
      return new ActpError("db.foreign_key_violation", e.detail ?? message, { details: { constraint: e.constraint } });
    case "23514":
      return new ActpError("db.check_violation", message, { details: { constraint: e.constraint } });
    case "23502":
      return new ActpError("db.not_null_violation", message, { details: { column: e.column } });
    case "22P02":
    case "22003":
    case "22007":
    case "22008":
    case "22023":
      return new ActpError("db.invalid_value", message);
    // Text Postgres cannot store (NUL, bytes that are not UTF-8) and JSON it cannot take: the
    // caller's input, never a server fault. assertSafeJson refuses most of it before SQL; these
    // catch whatever reaches the database another way.
    case "22021":
      return new ActpError("input.invalid_unicode", "text is not valid UTF-8 or contains NUL: " + message);
    case "22P05":
      return new ActpError("input.nul_character", "text may not contain NUL (\\u0000): " + message);
    case "54001":
      return new ActpError("input.too_deep", "input nests too deeply to process");
    case "57014":
      // statement_timeout (or a cancel): the request asked for more than the database gives one call.
      return new ActpError("db.statement_timeout", "the query ran past the statement timeout; ask for a smaller page or range");
    case "42501":
      return new ActpError("auth.forbidden", "not allowed for this role: " + message);
    default:
      return null;
  }
}
