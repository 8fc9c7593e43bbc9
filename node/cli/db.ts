// What every CLI command shares: which database to talk to (discovery.ts), one connection for the
// command, and errors printed as one line with a code and the catalog's exit status.
import { userInfo } from "node:os";
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database } from "../../shared/db/types.ts";
import { ActpError, exitStatusFor, fromPgError } from "../../shared/errors.ts";
import { redactUrl } from "../dev.ts";
import { resolveDatabase, type ResolvedDatabase } from "./discovery.ts";

/** The database this command talks to: --db-url, DATABASE_URL, the running `actp dev`, the default. */
export function cliDatabaseUrl(): string {
  return resolveDatabase().url;
}

// Errors that mean "nothing usable answered at that URL", as opposed to a query that failed.
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "28P01", "28000", "3D000", "57P03"]);

function errorCodeOf(err: unknown): string | undefined {
  const own = (err as { code?: unknown } | null)?.code;
  if (typeof own === "string") return own;
  // net's AggregateError (IPv4 and IPv6 both refused) carries the code on its parts.
  const inner = (err as { errors?: unknown[] } | null)?.errors?.[0];
  const code = (inner as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isUnreachable(err: unknown): boolean {
  const code = errorCodeOf(err);
  if (code && UNREACHABLE.has(code)) return true;
  return err instanceof Error && /Connection terminated|connect ETIMEDOUT|timeout expired/i.test(err.message);
}

/** cli.db_unreachable, naming the URL, where it came from, and every place looked at. */
export function unreachable(err: unknown, db: ResolvedDatabase = resolveDatabase()): ActpError {
  const reason = errorCodeOf(err) ?? (err instanceof Error ? err.message.split("\n")[0] : String(err));
  return new ActpError(
    "cli.db_unreachable",
    `cannot reach the database at ${redactUrl(db.url)} (${reason}), from ${db.source}; tried ${db.tried.join(", ")}. ` +
      "Start `npx actp dev`, or pass --db-url / set DATABASE_URL",
    { cause: err },
  );
}

/** Runs fn with a small pool that is always closed afterwards. */
export async function withDb<T>(fn: (db: Database) => Promise<T>, max = 2): Promise<T> {
  const resolved = resolveDatabase();
  const db = createPgDatabase({ connectionString: resolved.url, max, applicationName: "actp-cli" });
  try {
    return await fn(db);
  } catch (err) {
    throw isUnreachable(err) ? unreachable(err, resolved) : err;
  } finally {
    await db.end().catch(() => {});
  }
}

/** Runs fn in one transaction on the operator's connection (the database owner, like the service role). */
export function inTransaction<T>(fn: Parameters<Database["transaction"]>[0]): Promise<T> {
  return withDb((db) => db.transaction(fn) as Promise<T>, 1);
}

/** zod issues and other details folded into the same line. */
function detailsText(details: unknown): string {
  if (details === undefined || details === null) return "";
  const issues = Array.isArray(details) ? details : (details as { issues?: unknown }).issues;
  if (Array.isArray(issues) && issues.every((i) => typeof i === "object" && i !== null && "message" in i)) {
    const list = issues.map((i: { path?: unknown[]; message: string }) => `${(i.path ?? []).map(String).join(".") || "(root)"}: ${i.message}`);
    return ` (${list.join("; ")})`;
  }
  const json = JSON.stringify(details);
  return json && json.length <= 400 ? ` ${json}` : "";
}

const debugging = () => process.env.ACTP_DEBUG === "1" || process.argv.includes("--debug");

/** The error as actp words it: an ActpError, or the catalog code for what went wrong. */
export function toCliError(err: unknown): ActpError {
  if (err instanceof ActpError) return err;
  const mapped = fromPgError(err);
  if (mapped) return mapped;
  if (isUnreachable(err)) return unreachable(err);
  return new ActpError("internal", err instanceof Error ? err.message.split("\n")[0] || err.name : String(err), { cause: err });
}

/** Prints err as one line, `error: <code>: <message>` (the stack only with --debug), and sets the exit status. */
export function fail(err: unknown): void {
  const e = toCliError(err);
  console.error(`error: ${e.code}: ${e.message}${detailsText(e.details)}`);
  if (debugging()) console.error((e.cause instanceof Error ? e.cause : e).stack ?? "");
  process.exitCode = exitStatusFor(e.code);
}

/** Who is acting, for reviewed_by / decided_by: ACTP_REVIEWER, else the OS user. */
export function operator(): string {
  return process.env.ACTP_REVIEWER || userInfo().username || "cli";
}
