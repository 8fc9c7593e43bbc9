// Helpers for tests that talk to the tier's database.
import { inject } from "vitest";
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database, JwtClaims } from "../../shared/db/types.ts";

export function testDatabase(max = 4): Database {
  return createPgDatabase({ connectionString: inject("dbUrl"), max, applicationName: "actp-test" });
}

/** An API role, or an operator / viewer: an authenticated JWT with app_metadata.actp_role. */
export type TestCaller = "anon" | "authenticated" | "service_role" | "viewer" | "operator";

export function claimsFor(who: TestCaller): JwtClaims {
  if (who === "viewer" || who === "operator") {
    return { role: "authenticated", sub: "5d1c3f0a-8f2e-4b7a-9c1d-2e3f4a5b6c7d", app_metadata: { actp_role: who } };
  }
  return { role: who };
}

/** Runs fn as the given caller inside a transaction that is always rolled back. */
export async function asRoleRolledBack<T>(db: Database, who: TestCaller, fn: Parameters<Database["asRole"]>[1]): Promise<T> {
  const rollback = new Error("rollback");
  let out: T | undefined;
  try {
    await db.asRole(claimsFor(who), async (tx) => {
      out = (await fn(tx)) as T;
      throw rollback;
    });
  } catch (err) {
    if (err !== rollback) throw err;
  }
  return out as T;
}
