// The integration tier: a fresh database per test file on the PostgreSQL 15 server in DATABASE_URL,
// migrated exactly as production is (compat bootstrap + `supabase db push`), dropped afterwards.
import { createThrowawayDatabase, withDatabaseName } from "../../node/db/throwaway.ts";
import { createPgDatabase } from "../../shared/db/pg.ts";
import pg from "pg";
import type { Database, Queryable } from "../../shared/db/types.ts";

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

/**
 * n separate connections (one server backend each, checked in pg_stat_activity), for races that
 * must run on real parallel sessions rather than a pool that may hand one backend out twice.
 */
export async function parallelClients(url: string, n: number, applicationName: string): Promise<pg.Client[]> {
  const clients = await Promise.all(
    Array.from({ length: n }, async () => {
      const c = new pg.Client({ connectionString: url, application_name: applicationName });
      await c.connect();
      return c;
    }),
  );
  const { rows } = await clients[0]!.query<{ n: number }>(
    `select count(distinct pid)::int as n from pg_stat_activity where application_name = $1 and datname = current_database()`,
    [applicationName],
  );
  if (rows[0]!.n !== n) throw new Error(`expected ${n} backends for ${applicationName}, found ${rows[0]!.n}`);
  return clients;
}

/** One connection as the Queryable the statement modules take. */
export const clientQueryable = (c: pg.Client): Queryable => ({
  async query<R>(text: string, values?: readonly unknown[]) {
    const res = await c.query(text, values as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount };
  },
});
