// Emit throughput and latency: one connection and 8 parallel connections, single and batched
// emits, p50/p99 of one emit; against the embedded database and DATABASE_URL when set.
import { createPgDatabase } from "../shared/db/pg.ts";
import { emit } from "../shared/events/emit.ts";
import type { EventInput } from "../shared/events/registry.ts";
import { benchTargets, fmt, percentile } from "./_support.ts";

const DURATION_MS = Number(process.env.ACTP_BENCH_MS ?? 3000);
const BATCH = 100;

const event = (i: number): EventInput => ({
  type: "tool.call_completed",
  job_id: "00000000-0000-4000-8000-000000000001",
  agent_slug: "bench",
  tool_name: "web.fetch",
  payload: { duration_ms: i % 500, cost_usd: 0.0001 },
});

async function measure(url: string, connections: number, batch: number): Promise<{ eventsPerSec: number; latencies: number[] }> {
  const db = createPgDatabase({ connectionString: url, max: connections });
  const events = Array.from({ length: batch }, (_, i) => event(i));
  await emit(db, events); // warm-up: connections, plans
  const latencies: number[] = [];
  let written = 0;
  const end = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await emit(db, batch === 1 ? events[0]! : events);
        latencies.push(performance.now() - t);
        written += batch;
      }
    }),
  );
  const elapsed = performance.now() - started;
  await db.end();
  return { eventsPerSec: (written / elapsed) * 1000, latencies: latencies.sort((a, b) => a - b) };
}

console.log(`actp bench: events (each case runs ${DURATION_MS} ms; batch size ${BATCH})\n`);
for (const target of await benchTargets()) {
  console.log(`== ${target.label}`);
  console.log(`${"case".padEnd(30)} ${"events/s".padStart(12)} ${"p50 ms".padStart(9)} ${"p99 ms".padStart(9)}`);
  for (const [connections, batch] of [
    [1, 1],
    [8, 1],
    [1, BATCH],
    [8, BATCH],
  ] as const) {
    const r = await measure(target.url, connections, batch);
    const label = `${connections} conn, ${batch === 1 ? "single emit" : `batch of ${batch}`}`;
    console.log(
      `${label.padEnd(30)} ${fmt(r.eventsPerSec).padStart(12)} ${fmt(percentile(r.latencies, 50), 2).padStart(9)} ${fmt(percentile(r.latencies, 99), 2).padStart(9)}`,
    );
  }
  console.log("");
  await target.close();
}
