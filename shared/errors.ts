// One error family for the whole platform (STYLE.md §4): a stable string code, an HTTP status, and
// the same body shape everywhere: { error: { code, message, details? } }.

export type ErrorBody = { error: { code: string; message: string; details?: unknown } };

export class ActpError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown;
  constructor(code: string, message: string, status = 400, details?: unknown) {
    super(message);
    this.name = "ActpError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

export const badRequest = (code: string, message: string, details?: unknown) => new ActpError(code, message, 400, details);
export const unauthorized = (message = "missing or invalid bearer token") => new ActpError("auth.unauthorized", message, 401);
export const forbidden = (message = "this action needs the service_role key") => new ActpError("auth.forbidden", message, 403);
export const notFound = (code: string, message: string) => new ActpError(code, message, 404);
export const conflict = (code: string, message: string, details?: unknown) => new ActpError(code, message, 409, details);

interface PgLikeError {
  code?: string;
  message?: string;
  detail?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

/**
 * The HTTP status of one of our codes, from the shape of its last segment, so a new plpgsql error
 * gets the right status without a table to keep in step: *not_found 404, *forbidden 403,
 * *conflict / *disabled / *duplicate / not_* (a state that forbids the action) 409,
 * *unavailable 503, anything else 400.
 */
export function statusForCode(code: string): number {
  const last = code.split(".").pop() ?? "";
  if (/(^|_)not_found$/.test(last)) return 404;
  if (/(^|_)forbidden$/.test(last)) return 403;
  if (/(^|_)(conflict|disabled|duplicate)$/.test(last) || /^not_(cancellable|reusable_state|replayable)$/.test(last)) return 409;
  if (/(^|_)unavailable$/.test(last)) return 503;
  return 400;
}

/**
 * Maps a Postgres error to an ActpError. plpgsql raises P0001 with a message that starts with our
 * code ("events.append_only: ..."); constraint and privilege errors get generic codes. Anything else
 * is not a client error and is returned as null so the caller rethrows it (a 500).
 */
export function fromPgError(err: unknown): ActpError | null {
  if (!err || typeof err !== "object") return null;
  const e = err as PgLikeError;
  const message = e.message ?? "database error";
  switch (e.code) {
    case "P0001": {
      const m = /^([a-z_]+(?:\.[a-z_]+)+):\s*(.*)$/s.exec(message);
      if (!m) return new ActpError("db.raised", message, 400);
      const code = m[1]!;
      return new ActpError(code, m[2] ?? message, statusForCode(code));
    }
    case "23505":
      return new ActpError("db.unique_violation", e.detail ?? message, 409, { constraint: e.constraint });
    case "23503":
      return new ActpError("db.foreign_key_violation", e.detail ?? message, 400, { constraint: e.constraint });
    case "23514":
      return new ActpError("db.check_violation", message, 400, { constraint: e.constraint });
    case "23502":
      return new ActpError("db.not_null_violation", message, 400, { column: e.column });
    case "22P02":
    case "22003":
    case "22007":
    case "22008":
    case "22023":
      return new ActpError("db.invalid_value", message, 400);
    case "42501":
      return new ActpError("auth.forbidden", "not allowed for this role: " + message, 403);
    default:
      return null;
  }
}
