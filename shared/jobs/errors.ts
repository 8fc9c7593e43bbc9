// The job runtime's errors as ActpErrors. plpgsql raises them (P0001, "jobs.<code>: ..."); their
// statuses (404 for a missing agent or job, 409 for a disabled agent...) come from the error catalog
// like every other code's.
import { ActpError, fromPgError } from "../errors.ts";

/** An ActpError for err, or null when err is not a client error. */
export function toJobsError(err: unknown): ActpError | null {
  return err instanceof ActpError ? err : fromPgError(err);
}

/** Rethrows err as the job runtime's ActpError when it is one. */
export function rethrowJobsError(err: unknown): never {
  throw toJobsError(err) ?? err;
}
