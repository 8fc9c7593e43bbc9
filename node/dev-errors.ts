// The errors `actp dev` stops on, each one line with a stable code and its exit status
// (README "Exit statuses"): a user sees `actp dev: <code>: <message>`, never a stack trace.
import { ActpError } from "../shared/errors.ts";

export const DEV_EXIT_STATUS = {
  "dev.invalid_config": 2,
  "dev.db_password_required": 2,
  "dev.data_dir_in_use": 3,
  "dev.port_in_use": 5,
  "dev.cannot_listen": 5,
} as const;

export type DevErrorCode = keyof typeof DEV_EXIT_STATUS;

export class DevError extends ActpError {
  readonly exitStatus: number;
  constructor(code: DevErrorCode, message: string) {
    super(code, message, 500);
    this.name = "DevError";
    this.exitStatus = DEV_EXIT_STATUS[code];
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
