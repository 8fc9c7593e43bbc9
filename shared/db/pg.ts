// Database over node-postgres. Runtime-neutral in practice: Node imports `pg` from node_modules,
// Deno resolves the same bare specifier through deno.json's import map (npm:pg).
import pg from "pg";
import type { Database, JwtClaims, Queryable, QueryResult } from "./types.ts";
import { env } from "../env.ts";

export interface PgDatabaseOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
  /**
   * statement_timeout for every statement run as an API role (asRole), e.g. "8s" or "500ms"; "0"
   * turns it off. Default ACTP_STATEMENT_TIMEOUT, else 8s (Supabase's for `authenticated`).
   */
  statementTimeout?: string;
}

export const DEFAULT_STATEMENT_TIMEOUT = "8s";

const API_ROLES = new Set(["anon", "authenticated", "service_role"]);

export function createPgDatabase(opts: PgDatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? "actp",
    idleTimeoutMillis: 10_000,
  });
  // An idle client that loses its server must not crash the process; the pool replaces it.
  pool.on("error", () => {});

  const query = async <R>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>> => {
    const res = await pool.query(text, values as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount };
  };

  const transaction = async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      const tx: Queryable = {
        async query<R>(text: string, values?: readonly unknown[]) {
          const res = await client.query(text, values as unknown[] | undefined);
          return { rows: res.rows as R[], rowCount: res.rowCount };
        },
      };
      const out = await fn(tx);
      await client.query("commit");
      return out;
    } catch (err) {
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };

  const statementTimeout = opts.statementTimeout ?? env("ACTP_STATEMENT_TIMEOUT") ?? DEFAULT_STATEMENT_TIMEOUT;
  if (!/^\d+(\.\d+)?\s*(us|ms|s|min|h|d)?$/.test(statementTimeout)) {
    throw new Error(`ACTP_STATEMENT_TIMEOUT must be a duration such as 8s or 500ms, got "${statementTimeout}"`);
  }

  const asRole = <T>(claims: JwtClaims, fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    // The role name cannot be a bind parameter in SET ROLE; it is checked against a fixed set.
    if (!API_ROLES.has(claims.role)) throw new Error(`asRole: not an API role: ${String(claims.role)}`);
    return transaction(async (tx) => {
      // Transaction-local on purpose: the embedded server shares one session among all clients.
      // SET ROLE does not apply the role's own settings (ALTER ROLE ... SET statement_timeout, which
      // PostgREST callers get), so the request's timeout is set here, for this transaction only.
      await tx.query(
        `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), set_config('statement_timeout', $3, true)`,
        [claims.role, JSON.stringify(claims), statementTimeout],
      );
      return fn(tx);
    });
  };

  return { query, transaction, asRole, end: () => pool.end() };
}
