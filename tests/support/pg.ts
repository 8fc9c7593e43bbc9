// The integration tier: a fresh database per test file on the PostgreSQL 15 server in DATABASE_URL,
// migrated exactly as production is (compat bootstrap + `supabase db push`), dropped afterwards.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate } from "../../node/db/migrate.ts";
import { createPgDatabase } from "../../shared/db/pg.ts";
import type { Database } from "../../shared/db/types.ts";

export const PG_URL = process.env.DATABASE_URL ?? "";

export interface FreshDatabase {
  url: string;
  name: string;
  db: Database;
  drop(): Promise<void>;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function freshPgDatabase(label: string, opts: { migrate?: boolean; poolSize?: number } = {}): Promise<FreshDatabase> {
  if (!PG_URL) throw new Error("DATABASE_URL is not set");
  const name = `actp_t_${label.replace(/[^a-z0-9_]/g, "_").slice(0, 30)}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = withDatabase(PG_URL, name);
  if (opts.migrate !== false) await migrate(url);
  const db = createPgDatabase({ connectionString: url, max: opts.poolSize ?? 20, applicationName: `actp-test-${label}` });
  return {
    url,
    name,
    db,
    async drop() {
      await db.end();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
