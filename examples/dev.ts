// What `npm start` runs for the examples: the fixture site and an in-process worker for the example
// agents, so a newcomer sees jobs flow on the first run (submit one with the printed command).
import type { Database } from "../shared/db/types.ts";
import { JobWorker } from "../node/worker/runtime.ts";
import { researcher } from "./researcher.ts";
import { startFixtureSite, type FixtureSite } from "./fixture-site.ts";

export interface ExampleWorker {
  site: FixtureSite;
  worker: JobWorker;
  /** A ready-to-run submission for the researcher against the fixture site. */
  sampleInput: { question: string; site: string };
  stop(): Promise<void>;
}

/** Expects pg-boss's schema in place (the migrations install it; node/dev.ts runs installQueueEngine first). */
export async function startExampleWorker(db: Database, connectionString: string, opts: { sitePort?: number } = {}): Promise<ExampleWorker> {
  const site = await startFixtureSite(opts.sitePort ?? 0);
  const worker = new JobWorker({ db, connectionString, agents: [researcher], concurrency: 2 });
  try {
    await worker.start();
  } catch (err) {
    await site.stop();
    throw err;
  }
  return {
    site,
    worker,
    sampleInput: { question: "why do durable steps matter?", site: site.url },
    async stop() {
      await worker.stop("dead");
      await site.stop();
    },
  };
}
