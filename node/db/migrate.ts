// Brings a database to the current schema: the Supabase compatibility bootstrap where the target
// lacks Supabase's roles, then the Supabase CLI's own `db push`, so the migration history is
// recorded exactly as the CLI records it and `supabase migration list` agrees with us.
import { execFile } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { PROJECT_ROOT } from "../config.ts";

const run = promisify(execFile);

export const MIGRATIONS_DIR = resolve(PROJECT_ROOT, "migrations");
export const SUPABASE_BIN = resolve(PROJECT_ROOT, "node_modules/.bin/supabase");

export async function localMigrationVersions(): Promise<string[]> {
  const files = await readdir(MIGRATIONS_DIR);
  return files
    .filter((f) => /^\d{14}_[a-z0-9_]+\.sql$/.test(f))
    .map((f) => f.slice(0, 14))
    .sort();
}

/** True on a real Supabase database, where the bootstrap must never run. */
async function isSupabase(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query(`select exists (select 1 from pg_roles where rolname = 'supabase_admin') as yes`);
  return rows[0]?.yes === true;
}

export async function applySupabaseCompat(url: string): Promise<"applied" | "skipped"> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (await isSupabase(client)) return "skipped";
    const sql = await readFile(resolve(import.meta.dirname, "supabase-compat.sql"), "utf8");
    await client.query(sql);
    return "applied";
  } finally {
    await client.end();
  }
}

export interface MigrateResult {
  bootstrap: "applied" | "skipped";
  output: string;
}

/**
 * The Supabase CLI insists on TLS unless told otherwise; local servers (the embedded one, a CI
 * cluster) have none, so loopback URLs without an sslmode get sslmode=disable.
 */
export function cliDbUrl(url: string): string {
  const u = new URL(url);
  const loopback = ["127.0.0.1", "localhost", "[::1]", "::1"].includes(u.hostname);
  if (loopback && !u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable");
  return u.toString();
}

export async function migrate(url: string): Promise<MigrateResult> {
  const bootstrap = await applySupabaseCompat(url);
  try {
    const { stdout, stderr } = await run(
      SUPABASE_BIN,
      ["db", "push", "--db-url", cliDbUrl(url), "--yes", "--include-all", "--skip-vault", "--workdir", PROJECT_ROOT],
      { cwd: PROJECT_ROOT, env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" }, maxBuffer: 16 * 1024 * 1024 },
    );
    return { bootstrap, output: (stdout + stderr).trim() };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`supabase db push failed:\n${e.stderr || e.stdout || e.message}`);
  }
}
