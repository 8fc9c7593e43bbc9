// Operator actions (DLQ review, approvals, circuits) run with the service role's privileges, after
// requireOperator has decided, but with the caller's own claims in request.jwt.claims, so the SQL
// records who acted through actp_caller_actor() (the token's sub and email), never a body's say-so.
// The action functions are not executable by `authenticated`: that stays true for PostgREST callers.
import type { Context } from "hono";
import type { Queryable } from "../../shared/db/types.ts";
import type { FnEnv } from "./http.ts";
import { runtime } from "./runtime.ts";

export function actAsCaller<T>(c: Context<FnEnv>, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const claims = c.get("claims");
  return runtime().db.transaction(async (tx) => {
    // Transaction-local, like asRole: nothing of it survives on the pooled connection.
    await tx.query(`select set_config('role', 'service_role', true), set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
    return fn(tx);
  });
}
