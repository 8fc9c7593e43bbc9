// Shared by the benchmarks: targets (the embedded database, and DATABASE_URL when set) and stats.
import { startEmbeddedDatabase } from "../node/db/embedded.ts";
import { migrate } from "../node/db/migrate.ts";
import { createThrowawayDatabase } from "../node/db/throwaway.ts";

export interface BenchTarget {
  label: string;
  url: string;
  close(): Promise<void>;
}

export async function benchTargets(): Promise<BenchTarget[]> {
  const targets: BenchTarget[] = [];
  if (process.env.ACTP_BENCH_SKIP_EMBEDDED !== "1") {
    const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
    await migrate(embedded.url);
    await embedded.db.exec(`reset all; set search_path to "$user", public, extensions;`);
    targets.push({ label: "embedded PGlite", url: embedded.url, close: () => embedded.stop() });
  }
  if (process.env.DATABASE_URL) {
    // A throwaway database on that server: a benchmark never writes into a database someone uses.
    const t = await createThrowawayDatabase(process.env.DATABASE_URL, "bench");
    targets.push({ label: "DATABASE_URL (PostgreSQL, throwaway database)", url: t.url, close: () => t.drop() });
  }
  return targets;
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i]!;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
