// Helpers for tests that talk to the tier's database.
import { inject } from "vitest";
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database } from "../../shared/db/types.ts";

export function testDatabase(max = 4): Database {
  return createPgDatabase({ connectionString: inject("dbUrl"), max, applicationName: "actp-test" });
}

/** Runs fn as the given API role inside a transaction that is always rolled back. */
export async function asRoleRolledBack<T>(db: Database, role: "anon" | "authenticated" | "service_role", fn: Parameters<Database["asRole"]>[1]): Promise<T> {
  const rollback = new Error("rollback");
  let out: T | undefined;
  try {
    await db.asRole({ role }, async (tx) => {
      out = (await fn(tx)) as T;
      throw rollback;
    });
  } catch (err) {
    if (err !== rollback) throw err;
  }
  return out as T;
}
