// The embedded database: PGlite (Postgres in WASM) with pgvector, served over the Postgres wire
// protocol so every client (psql, the Supabase CLI, pg-boss, our pool) uses a plain postgres:// URL.
// It behaves like a server: a password (SCRAM-SHA-256), loopback unless a password was chosen,
// one process per data directory (a lock file), and a clear error for a port already taken.
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { serveWireProtocol, type WireServer } from "./wire-server.ts";
import { acquireDataDirLock, type DataDirLock } from "./lock.ts";
import { DevError, listenErrorToDevError } from "../dev-errors.ts";

/** What every session of the platform starts with; put back after a client's session is reset. */
export const EMBEDDED_SESSION_DEFAULTS = `set search_path to "$user", public, extensions;`;

/** Supabase's local stack uses this password; ACTP_DB_PASSWORD replaces it. */
export const DEFAULT_DB_PASSWORD = "postgres";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export interface EmbeddedDatabase {
  url: string;
  port: number;
  db: PGlite;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string | null;
  host?: string;
  port?: number; // 0 picks a free port
  maxConnections?: number;
  /** Defaults to ACTP_DB_PASSWORD, else "postgres" (loopback only). */
  password?: string;
}

/** The password clients must present, and whether the host may be listened on with it. */
export function embeddedPassword(host: string, explicit: string | undefined = process.env.ACTP_DB_PASSWORD || undefined): string {
  if (!LOOPBACK.has(host) && !explicit) {
    throw new DevError(
      "dev.db_password_required",
      `ACTP_DB_HOST=${host} is beyond loopback: set ACTP_DB_PASSWORD to a password of your own before the embedded database listens there`,
    );
  }
  return explicit ?? DEFAULT_DB_PASSWORD;
}

export function embeddedUrl(host: string, port: number, password: string): string {
  const h = host.includes(":") ? `[${host}]` : host;
  return `postgres://postgres:${encodeURIComponent(password)}@${h}:${port}/postgres?sslmode=disable`;
}

export async function startEmbeddedDatabase(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const host = opts.host ?? "127.0.0.1";
  const password = embeddedPassword(host, opts.password ?? (process.env.ACTP_DB_PASSWORD || undefined));
  // The data directory holds PGlite's cluster in pgdata/ and actp's own files (keys) beside it.
  // Two processes on one PGlite directory corrupt it: the lock is taken before PGlite opens it.
  let lock: DataDirLock | null = null;
  if (opts.dataDir) {
    await mkdir(resolve(opts.dataDir, "pgdata"), { recursive: true });
    lock = await acquireDataDirLock(opts.dataDir);
  }
  let db: PGlite | null = null;
  let server: WireServer;
  try {
    db = await PGlite.create({
      dataDir: opts.dataDir ? resolve(opts.dataDir, "pgdata") : "memory://",
      extensions: { vector },
    });
    // Every client is multiplexed onto PGlite's single session (see wire-server.ts and DESIGN.md).
    server = await serveWireProtocol(db, {
      host,
      port: opts.port ?? 54322,
      maxConnections: opts.maxConnections ?? 64,
      password,
      sessionDefaults: EMBEDDED_SESSION_DEFAULTS,
    }).catch((err: unknown) => {
      throw listenErrorToDevError(err, "ACTP_DB_PORT", "ACTP_DB_HOST", host, opts.port ?? 54322);
    });
  } catch (err) {
    await db?.close().catch(() => {});
    await lock?.release();
    throw err;
  }
  const port = server.port;
  let stopped = false;
  return {
    url: embeddedUrl(host, port, password),
    port,
    db,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      // close() flushes PGlite's data directory: every committed row survives a restart.
      await db!.close();
      await lock?.release();
    },
  };
}
