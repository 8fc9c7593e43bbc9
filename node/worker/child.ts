// Entry of one worker child process under WorkerSupervisor. It answers pings on the IPC channel from
// its event loop (so a blocked loop shows as a missed pong), reports RSS with each pong, and drains
// when told to: stop fetching, finish what it holds, record `recycled`, exit.
import { createPgDatabase } from "../../shared/db/pg.ts";
import { loadAgents } from "./load.ts";
import { JobWorker } from "./runtime.ts";

export interface ChildConfig {
  module: string;
  connectionString: string;
  concurrency: number;
  workerId: string;
  listenNotify: boolean;
  heartbeatIntervalMs?: number;
  batchSize?: number;
}

export type ParentMessage = { type: "ping"; seq: number } | { type: "drain"; status: "recycled" | "dead" };
export type ChildMessage =
  | { type: "ready"; workerId: string }
  | { type: "pong"; seq: number; rss: number; active: number }
  | { type: "drained" };

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env.ACTP_WORKER_CHILD ?? "null") as ChildConfig | null;
  if (!cfg || !process.send) throw new Error("node/worker/child.ts runs only as a child of `actp worker`");
  const send = (m: ChildMessage) => process.send!(m);
  const agents = await loadAgents(cfg.module);
  const db = createPgDatabase({ connectionString: cfg.connectionString, max: cfg.concurrency * agents.length + 4, applicationName: "actp-worker" });
  const worker = new JobWorker({
    db,
    connectionString: cfg.connectionString,
    agents,
    concurrency: cfg.concurrency,
    workerId: cfg.workerId,
    listenNotify: cfg.listenNotify,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    batchSize: cfg.batchSize,
  });
  let draining = false;
  process.on("message", (m: ParentMessage) => {
    if (m.type === "ping") send({ type: "pong", seq: m.seq, rss: process.memoryUsage().rss, active: worker.activeJobs });
    if (m.type === "drain" && !draining) {
      draining = true;
      void worker
        .drain(m.status)
        .then(() => db.end())
        .then(
          // Exit once the message is on its way, so the parent sees `drained` before `exit`.
          () => process.send!({ type: "drained" } satisfies ChildMessage, () => process.exit(0)),
          (err: unknown) => {
            console.error("[actp worker child] drain failed:", err);
            process.exit(1);
          },
        );
    }
  });
  // The parent going away (it was killed) must not leave orphan workers behind.
  process.on("disconnect", () => void worker.stop("dead").finally(() => process.exit(0)));
  await worker.start();
  send({ type: "ready", workerId: worker.workerId });
}

main().catch((err) => {
  console.error("[actp worker child]", err);
  process.exit(1);
});
