// A throwaway database on the server of a given URL: created, migrated like production, dropped.
// Used by the integration tests and the benchmarks so they never touch a shared database.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate } from "./migrate.ts";

export interface ThrowawayDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(serverUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createThrowawayDatabase(serverUrl: string, label: string, opts: { migrate?: boolean } = {}): Promise<ThrowawayDatabase> {
  // The name is built from a sanitised label and random hex only: safe to place in DDL.
  const name = `actp_t_${label.replace(/[^a-z0-9_]/g, "_").slice(0, 30)}_${randomBytes(4).toString("hex")}`;
  await admin(serverUrl, (c) => c.query(`create database ${name}`));
  const url = withDatabaseName(serverUrl, name);
  if (opts.migrate !== false) await migrate(url);
  return {
    url,
    name,
    drop: () => admin(serverUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
