// What every function needs from its host: a database and the keys to check callers with.
// The local gateway and tests configure it explicitly; on Supabase it is built from the secrets
// the platform provides (SUPABASE_DB_URL, SUPABASE_SERVICE_ROLE_KEY) plus ACTP_JWT_SECRET.
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database } from "../../shared/db/types.ts";
import { env } from "../../shared/env.ts";

export interface FunctionRuntime {
  db: Database;
  /** HS256 secret that signed the project's API keys; null when only key equality can be checked. */
  jwtSecret: string | null;
  /** The service_role key itself: a caller presenting it is the service role. */
  serviceRoleKey: string | null;
  /** Which scheduler executes actp_schedules where pg_cron is absent ("local" in the dev process). */
  localScheduler: boolean;
}

let current: FunctionRuntime | null = null;

export function configureRuntime(rt: FunctionRuntime): void {
  current = rt;
}

export function runtime(): FunctionRuntime {
  if (current) return current;
  const url = env("ACTP_DATABASE_URL") ?? env("SUPABASE_DB_URL") ?? env("DATABASE_URL");
  if (!url) throw new Error("actp: no database configured (set SUPABASE_DB_URL or ACTP_DATABASE_URL)");
  current = {
    db: createPgDatabase({ connectionString: url, max: 3, applicationName: "actp-edge" }),
    jwtSecret: env("ACTP_JWT_SECRET") ?? env("SUPABASE_JWT_SECRET") ?? env("JWT_SECRET") ?? null,
    serviceRoleKey: env("SUPABASE_SERVICE_ROLE_KEY") ?? null,
    localScheduler: false,
  };
  return current;
}
