// HTTP statuses of the job runtime's error codes. plpgsql raises them (P0001, "jobs.<code>: ..."),
// and fromPgError derives a status from the last segment only (not_found, conflict, forbidden), which
// these codes do not end in; every TypeScript entry point goes through toJobsError so they answer
// 404 / 409 wherever the SQL function is called from.
import { ActpError, fromPgError } from "../errors.ts";

export const JOBS_ERROR_STATUS: Readonly<Record<string, number>> = {
  "jobs.agent_not_found": 404,
  "jobs.job_not_found": 404,
  "jobs.replay_source_not_found": 404,
  "jobs.replay_step_not_found": 404,
  "jobs.agent_disabled": 409,
  "jobs.not_cancellable": 409,
  "jobs.duplicate": 409,
  "jobs.queue_unavailable": 503,
};

/** An ActpError with the job runtime's status for err, or null when err is not a client error. */
export function toJobsError(err: unknown): ActpError | null {
  const mapped = err instanceof ActpError ? err : fromPgError(err);
  if (!mapped) return null;
  const status = JOBS_ERROR_STATUS[mapped.code];
  return status === undefined || status === mapped.status ? mapped : new ActpError(mapped.code, mapped.message, status, mapped.details);
}

/** Rethrows err as the job runtime's ActpError when it is one. */
export function rethrowJobsError(err: unknown): never {
  throw toJobsError(err) ?? err;
}
