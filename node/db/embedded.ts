// The embedded database: PGlite (Postgres in WASM) with pgvector, served over the Postgres wire
// protocol so every client (psql, the Supabase CLI, pg-boss, our pool) uses a plain postgres:// URL.
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { serveWireProtocol } from "./wire-server.ts";

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
}

export async function startEmbeddedDatabase(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  // The data directory holds PGlite's cluster in pgdata/ and actp's own files (keys) beside it.
  const pgdata = opts.dataDir ? resolve(opts.dataDir, "pgdata") : null;
  if (pgdata) await mkdir(pgdata, { recursive: true });
  const db = await PGlite.create({
    dataDir: pgdata ?? "memory://",
    extensions: { vector },
  });
  const host = opts.host ?? "127.0.0.1";
  // Every client is multiplexed onto PGlite's single session (see wire-server.ts and DESIGN.md).
  const server = await serveWireProtocol(db, { host, port: opts.port ?? 54322, maxConnections: opts.maxConnections ?? 64 });
  const port = server.port;
  let stopped = false;
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    db,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      // close() flushes PGlite's data directory: every committed row survives a restart.
      await db.close();
    },
  };
}
