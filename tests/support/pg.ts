// The integration tier: a fresh database per test file on the PostgreSQL 15 server in DATABASE_URL,
// migrated exactly as production is (compat bootstrap + `supabase db push`), dropped afterwards.
import { createThrowawayDatabase, withDatabaseName } from "../../node/db/throwaway.ts";
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database } from "../../shared/db/types.ts";

export const PG_URL = process.env.DATABASE_URL ?? "";
export { withDatabaseName as withDatabase };

export interface FreshDatabase {
  url: string;
  name: string;
  db: Database;
  drop(): Promise<void>;
}

export async function freshPgDatabase(label: string, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<FreshDatabase> {
  if (!PG_URL) throw new Error("DATABASE_URL is not set");
  const t = await createThrowawayDatabase(PG_URL, label, { migrate: opts.migrate });
  const db = createPgDatabase({ connectionString: t.url, max: opts.poolSize ?? 20, applicationName: `actp-test-${label}` });
  return {
    url: t.url,
    name: t.name,
    db,
    async drop() {
      await db.end();
      await t.drop();
    },
  };
}
