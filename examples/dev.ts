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
  await allowFixtureSite(db, new URL(site.url).host);
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

const FIXTURE_POLICY = "examples: the researcher may read the local fixture site";

/**
 * ctx.fetch refuses loopback addresses unless an allowlist names the exact IP and port: the
 * researcher gets one allowlist row for this run's fixture site (updated, not duplicated, per run;
 * allow_unknown because the worker registers the agent only as it starts).
 */
async function allowFixtureSite(db: Database, hostPort: string): Promise<void> {
  const config = JSON.stringify({ allowed_domains: [hostPort] });
  const { rowCount } = await db.query(
    `update public.actp_policies set config = $1::jsonb where scope = 'agent:researcher' and policy_type = 'allowlist' and description = $2`,
    [config, FIXTURE_POLICY],
  );
  if (!rowCount) {
    await db.query(`insert into public.actp_policies (scope, policy_type, config, description, allow_unknown) values ('agent:researcher', 'allowlist', $1::jsonb, $2, true)`, [config, FIXTURE_POLICY]);
  }
}
