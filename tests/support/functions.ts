// Function tests call the Hono apps directly (app.request) against the tier's database, with a
// fresh project secret and the anon / service_role keys signed with it.
import { configureRuntime } from "../../functions/_shared/runtime.ts";
import { loadProjectKeys, type ProjectKeys } from "../../node/keys.ts";
import type { Database } from "../../shared/db/types.ts";
import { testDatabase } from "./db.ts";

export interface FunctionHarness {
  db: Database;
  keys: ProjectKeys;
  headers(role: "anon" | "service_role" | "none", extra?: Record<string, string>): Record<string, string>;
}

export async function functionHarness(): Promise<FunctionHarness> {
  const db = testDatabase();
  const keys = await loadProjectKeys(null);
  configureRuntime({ db, jwtSecret: keys.jwtSecret, serviceRoleKey: keys.serviceRoleKey, localScheduler: true });
  return {
    db,
    keys,
    headers(role, extra = {}) {
      const out: Record<string, string> = { ...extra };
      if (role !== "none") out.authorization = `Bearer ${role === "anon" ? keys.anonKey : keys.serviceRoleKey}`;
      return out;
    },
  };
}
