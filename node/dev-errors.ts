// The errors `actp dev` stops on, each one line with a stable code and its exit status
// (README "Errors"): a user sees `actp dev: <code>: <message>`, never a stack trace.
import { ActpError, exitStatusFor } from "../shared/errors.ts";

export type DevErrorCode = "dev.invalid_config" | "dev.db_password_required" | "dev.data_dir_in_use" | "dev.port_in_use" | "dev.cannot_listen";

/** The exit status is the catalog's (shared/errors/catalog.ts, README "Errors"). */
export class DevError extends ActpError {
  readonly exitStatus: number;
  constructor(code: DevErrorCode, message: string) {
    super(code, message);
    this.name = "DevError";
    this.exitStatus = exitStatusFor(code);
  }
}

/** A listen() failure as the one line that says which variable to change. */
export function listenErrorToDevError(err: unknown, portVar: string, hostVar: string, host: string, port: number): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (code === "EADDRINUSE") {
    return new DevError("dev.port_in_use", `port ${port} on ${host} is already in use: stop what holds it, or set ${portVar} to a free port`);
  }
  if (code === "EADDRNOTAVAIL" || code === "EACCES" || code === "ENOTFOUND") {
    return new DevError("dev.cannot_listen", `cannot listen on ${host}:${port} (${code}): check ${hostVar} and ${portVar}`);
  }
  return err;
}
