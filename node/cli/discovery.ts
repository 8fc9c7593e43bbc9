// Where is the platform? Every command resolves its database the same way, in this order:
//   1. --db-url
//   2. DATABASE_URL (or ACTP_DATABASE_URL)
//   3. the running `actp dev` of the data directory (ACTP_DATA_DIR, else ./.actp): it records where
//      it listens in <data dir>/dev.json, removed on a clean exit and ignored once its pid is dead
//   4. the default, postgres://...@127.0.0.1:${ACTP_DB_PORT:-54322}
// and an error that cannot reach it names the URL, where it came from, and what else was tried.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { DEFAULT_DB_PASSWORD, embeddedUrl } from "../db/embedded.ts";

export const DEV_RECORD_FILE = "dev.json";

export const DevRecord = z.object({
  pid: z.int().positive(),
  db_url: z.string().min(1),
  api_url: z.string().min(1),
  data_dir: z.string(),
  started_at: z.string(),
});
export type DevRecord = z.infer<typeof DevRecord>;

/** ACTP_DATA_DIR, else ./.actp in the directory the command runs in. */
export function dataDirFromEnv(): string {
  return resolve(process.env.ACTP_DATA_DIR || resolve(process.cwd(), ".actp"));
}

export function defaultDatabaseUrl(): string {
  return embeddedUrl(process.env.ACTP_DB_HOST || "127.0.0.1", Number(process.env.ACTP_DB_PORT || "54322"), process.env.ACTP_DB_PASSWORD || DEFAULT_DB_PASSWORD);
}

/** Written by `actp dev` once it listens; readable by the user only (it may hold a password). */
export function writeDevRecord(dataDir: string, record: Omit<DevRecord, "pid" | "started_at" | "data_dir">): string {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, DEV_RECORD_FILE);
  const full: DevRecord = { pid: process.pid, data_dir: dataDir, started_at: new Date().toISOString(), ...record };
  // Written whole and renamed, so a reader never sees half a file.
  writeFileSync(`${path}.${process.pid}.tmp`, JSON.stringify(full, null, 2) + "\n", { mode: 0o600 });
  renameSync(`${path}.${process.pid}.tmp`, path);
  return path;
}

/** Removes the record if it is this process's (a second `actp dev` must not delete the first's). */
export function removeDevRecord(dataDir: string, pid = process.pid): void {
  const path = join(dataDir, DEV_RECORD_FILE);
  try {
    const r = DevRecord.safeParse(JSON.parse(readFileSync(path, "utf8")));
    if (r.success && r.data.pid !== pid) return;
  } catch {
    // unreadable: it is ours to clean up
  }
  rmSync(path, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export type DevLookup = { state: "running"; record: DevRecord } | { state: "absent" | "stale" | "unreadable"; path: string };

/** The `actp dev` recorded in dataDir, if its process is alive. */
export function findRunningDev(dataDir: string = dataDirFromEnv()): DevLookup {
  const path = join(dataDir, DEV_RECORD_FILE);
  if (!existsSync(path)) return { state: "absent", path };
  let parsed;
  try {
    parsed = DevRecord.safeParse(JSON.parse(readFileSync(path, "utf8")));
  } catch {
    return { state: "unreadable", path };
  }
  if (!parsed.success) return { state: "unreadable", path };
  if (!isAlive(parsed.data.pid)) return { state: "stale", path };
  return { state: "running", record: parsed.data };
}

export interface ResolvedDatabase {
  url: string;
  /** Where the URL came from, for messages: "--db-url", "DATABASE_URL", "actp dev (pid 123, .actp/dev.json)", "the default". */
  source: string;
  /** Each place looked at, in order, with what was there. */
  tried: string[];
}

/** The database a command talks to (see the top of this file for the order). */
export function resolveDatabase(flag: string | undefined = process.env.ACTP_CLI_DB_URL): ResolvedDatabase {
  const tried: string[] = [];
  if (flag) return { url: flag, source: "--db-url", tried: ["--db-url"] };
  tried.push("--db-url (not given)");
  const envUrl = process.env.DATABASE_URL || process.env.ACTP_DATABASE_URL;
  if (envUrl) return { url: envUrl, source: process.env.DATABASE_URL ? "DATABASE_URL" : "ACTP_DATABASE_URL", tried: [...tried, "DATABASE_URL"] };
  tried.push("DATABASE_URL (unset)");
  const dataDir = dataDirFromEnv();
  const dev = findRunningDev(dataDir);
  if (dev.state === "running") {
    return { url: dev.record.db_url, source: `actp dev (pid ${dev.record.pid}, ${join(dataDir, DEV_RECORD_FILE)})`, tried: [...tried, "actp dev"] };
  }
  const why = { absent: "not running", stale: "its recorded process has exited", unreadable: "unreadable" }[dev.state];
  tried.push(`actp dev in ${dataDir} (${why})`);
  return { url: defaultDatabaseUrl(), source: "the default", tried };
}
