// `actp worker <module>`: runs the agents a module exports, in supervised worker processes.
import type { Command } from "commander";
import { installQueueEngine } from "../../worker/boss.ts";
import { loadAgents } from "../../worker/load.ts";
import { WorkerSupervisor } from "../../worker/supervisor.ts";
import { isUnreachable, unreachable } from "../db.ts";
import { resolveDatabase } from "../discovery.ts";
import { ActpError } from "../../../shared/errors.ts";

export function register(program: Command): void {
  program
    .command("worker")
    .description("work the queues of the agents a module exports (on the database --db-url, DATABASE_URL or the running `actp dev` names)")
    .argument("<module>", "a .ts/.js module exporting defineAgent() results")
    .option("-p, --processes <n>", "worker processes", "1")
    .option("-c, --concurrency <n>", "jobs at once per agent in each process", "4")
    .option("--batch-size <n>", "jobs fetched per pg-boss round trip (a batch is settled when all of its jobs end)", "1")
    .option("--max-rss-mb <mb>", "recycle a worker process above this RSS", "512")
    .option("--ping-timeout-ms <ms>", "replace a worker whose event loop does not answer for this long", "10000")
    .option("--heartbeat-ms <ms>", "worker heartbeat; a worker is dead after 3 missed beats and its jobs run again", "5000")
    .action(async (module: string, opts: { processes: string; concurrency: string; batchSize: string; maxRssMb: string; pingTimeoutMs: string; heartbeatMs: string }) => {
      const db = resolveDatabase();
      const url = db.url;
      const agents = await loadAgents(module);
      await installQueueEngine(url).catch((err: unknown) => {
        throw isUnreachable(err) ? unreachable(err, db) : err;
      });
      const sup = new WorkerSupervisor({
        module,
        connectionString: url,
        processes: positiveInt(opts.processes, "--processes"),
        concurrency: positiveInt(opts.concurrency, "--concurrency"),
        batchSize: positiveInt(opts.batchSize, "--batch-size"),
        maxRssBytes: positiveInt(opts.maxRssMb, "--max-rss-mb") * 1024 * 1024,
        pingTimeoutMs: positiveInt(opts.pingTimeoutMs, "--ping-timeout-ms"),
        heartbeatIntervalMs: positiveInt(opts.heartbeatMs, "--heartbeat-ms"),
        log: (line) => console.log(`  ${line}`),
      });
      console.log(`actp worker: ${agents.map((a) => a.slug).join(", ")} from ${module}`);
      sup.start();
      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`actp worker: ${signal}, draining`);
        await sup.stop();
        process.exit(0);
      };
      process.on("SIGINT", () => void shutdown("SIGINT"));
      process.on("SIGTERM", () => void shutdown("SIGTERM"));
    });
}

function positiveInt(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ActpError("cli.usage", `${name} must be a positive integer, got ${raw}`);
  return n;
}
