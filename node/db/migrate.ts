// Brings a database to the current schema: the Supabase compatibility bootstrap where the target
// lacks Supabase's roles, then the Supabase CLI's own `db push`, so the migration history is
// recorded exactly as the CLI records it and `supabase migration list` agrees with us.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { PROJECT_ROOT } from "../config.ts";

const run = promisify(execFile);

export const MIGRATIONS_DIR = resolve(PROJECT_ROOT, "migrations");
export const SUPABASE_BIN = findSupabaseBin();

/** The supabase CLI of actp's dependency: in this repository's node_modules, or wherever npm put it for an installing project. */
function findSupabaseBin(): string {
  const local = resolve(PROJECT_ROOT, "node_modules/.bin/supabase");
  if (existsSync(local)) return local;
  try {
    const pkgJson = createRequire(import.meta.url).resolve("supabase/package.json");
    const bin = (JSON.parse(readFileSync(pkgJson, "utf8")) as { bin: string | Record<string, string> }).bin;
    return resolve(dirname(pkgJson), typeof bin === "string" ? bin : bin.supabase!);
  } catch {
    return local;
  }
}

/**
 * The --workdir for `supabase db push`: this repository, whose supabase/migrations links to
 * migrations/. npm pack drops symbolic links, so an installed actp gets a temporary workdir with its
 * config.toml and a link made here (the caller removes it).
 */
async function supabaseWorkdir(): Promise<{ dir: string; temporary: boolean }> {
  if (existsSync(resolve(PROJECT_ROOT, "supabase/migrations"))) return { dir: PROJECT_ROOT, temporary: false };
  const dir = await mkdtemp(join(tmpdir(), "actp-supabase-"));
  await mkdir(join(dir, "supabase"));
  await copyFile(resolve(PROJECT_ROOT, "supabase/config.toml"), join(dir, "supabase/config.toml"));
  await symlink(MIGRATIONS_DIR, join(dir, "supabase/migrations"), "dir");
  return { dir, temporary: true };
}

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
  const workdir = await supabaseWorkdir();
  try {
    const { stdout, stderr } = await run(
      SUPABASE_BIN,
      ["db", "push", "--db-url", cliDbUrl(url), "--yes", "--include-all", "--skip-vault", "--workdir", workdir.dir],
      { cwd: workdir.dir, env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" }, maxBuffer: 16 * 1024 * 1024 },
    );
    return { bootstrap, output: (stdout + stderr).trim() };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`supabase db push failed:\n${e.stderr || e.stdout || e.message}`);
  } finally {
    if (workdir.temporary) await rm(workdir.dir, { recursive: true, force: true });
  }
}
