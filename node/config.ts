// Node-side configuration: every environment variable actp reads, in one place (README lists them).
import { resolve } from "node:path";
import { DevError } from "./dev-errors.ts";

export const PROJECT_ROOT = resolve(import.meta.dirname, "..");

export interface DevConfig {
  dataDir: string | null; // null: in-memory, thrown away on exit
  dbHost: string;
  dbPort: number;
  apiHost: string;
  apiPort: number;
  databaseUrl: string | null; // set: use that database, no PGlite
}

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new DevError("dev.invalid_config", `${name} must be a port number (0-65535), got ${raw}`);
  return n;
}

export function devConfigFromEnv(opts: { memory?: boolean; dataDir?: string } = {}): DevConfig {
  // ./.actp where the command runs (the project's own folder when actp is installed as a package).
  const dataDir = opts.memory ? null : resolve(opts.dataDir ?? (process.env.ACTP_DATA_DIR || resolve(process.cwd(), ".actp")));
  return {
    dataDir,
    dbHost: process.env.ACTP_DB_HOST ?? "127.0.0.1",
    dbPort: intEnv("ACTP_DB_PORT", 54322),
    apiHost: process.env.ACTP_API_HOST ?? "127.0.0.1",
    apiPort: intEnv("ACTP_API_PORT", 54321),
    databaseUrl: process.env.DATABASE_URL || null,
  };
}
