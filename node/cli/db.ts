// What every CLI command shares: which database to talk to, one connection for the command, and
// errors printed the way the API words them (exit code 4 for not found, 1 otherwise).
import { userInfo } from "node:os";
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database } from "../../shared/db/types.ts";
import { ActpError, exitStatusFor, fromPgError } from "../../shared/errors.ts";
import { redactUrl } from "../dev.ts";
import { DEFAULT_DB_PASSWORD, embeddedUrl } from "../db/embedded.ts";

/** ACTP_DATABASE_URL or DATABASE_URL, else the database `actp dev` serves (ACTP_DB_PORT). */
export function cliDatabaseUrl(): string {
  const explicit = process.env.ACTP_DATABASE_URL || process.env.DATABASE_URL;
  if (explicit) return explicit;
  return embeddedUrl(process.env.ACTP_DB_HOST || "127.0.0.1", Number(process.env.ACTP_DB_PORT || "54322"), process.env.ACTP_DB_PASSWORD || DEFAULT_DB_PASSWORD);
}

/** Runs fn with a small pool that is always closed afterwards. */
export async function withDb<T>(fn: (db: Database) => Promise<T>, max = 2): Promise<T> {
  const db = createPgDatabase({ connectionString: cliDatabaseUrl(), max, applicationName: "actp-cli" });
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

/** Runs fn in one transaction on the operator's connection (the database owner, like the service role). */
export function inTransaction<T>(fn: Parameters<Database["transaction"]>[0]): Promise<T> {
  return withDb((db) => db.transaction(fn) as Promise<T>, 1);
}

/** Prints err as one line (no stack trace) and sets the exit code. */
export function fail(err: unknown): void {
  const e = err instanceof ActpError ? err : fromPgError(err);
  if (e) {
    console.error(`error: ${e.code}: ${e.message}${e.details ? `\n${JSON.stringify(e.details, null, 2)}` : ""}`);
    process.exitCode = exitStatusFor(e.code);
    return;
  }
  const code = (err as { code?: unknown })?.code;
  const hint =
    code === "ECONNREFUSED" || code === "ENOTFOUND"
      ? ` (is \`actp dev\` running, or DATABASE_URL set? tried ${redactUrl(cliDatabaseUrl())})`
      : "";
  console.error(`error: ${err instanceof Error ? err.message : String(err)}${hint}`);
  process.exitCode = 1;
}

/** Who is acting, for reviewed_by / decided_by: ACTP_REVIEWER, else the OS user. */
export function operator(): string {
  return process.env.ACTP_REVIEWER || userInfo().username || "cli";
}
