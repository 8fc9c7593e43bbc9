// The one database contract every component is written against. Node (pg Pool), Deno (the same
// pg driver through npm:) and tests all provide it, so SQL modules never know where they run.

export interface QueryResult<R> {
  rows: R[];
  rowCount: number | null;
}

export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** JWT claims as Supabase puts them in request.jwt.claims. */
export interface JwtClaims {
  role: "anon" | "authenticated" | "service_role";
  sub?: string;
  [claim: string]: unknown;
}

export interface Database extends Queryable {
  /** Runs fn in one transaction on one connection; rolls back if fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs fn in a transaction as the given API role with the given claims, the way Supabase's API
   * does (SET LOCAL ROLE + request.jwt.claims), so RLS and grants decide what the caller may do.
   */
  asRole<T>(claims: JwtClaims, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}
