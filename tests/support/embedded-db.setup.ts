// Starts one embedded database per test project, migrated exactly as `actp dev` does it (the
// compatibility bootstrap, then the Supabase CLI's db push), and hands its URL to the tests.
import type { TestProject } from "vitest/node";
import { startEmbeddedDatabase } from "../../node/db/embedded.ts";
import { migrate } from "../../node/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    dbUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const embedded = await startEmbeddedDatabase({ dataDir: null, port: 0 });
  await migrate(embedded.url);
  await embedded.db.exec(`reset all; set search_path to "$user", public, extensions;`);
  // Test files share this database and fail jobs, dead-letter them and open breakers on purpose:
  // the incident detectors would rightly call that an incident (and suspend non-critical schedules,
  // halve budgets) for every other file. They are switched off here; the incident tests switch on
  // the ones they drive, inside rolled-back transactions (tests/db/ops-incidents.test.ts).
  await embedded.db.exec(`update public.actp_incident_detectors set enabled = false`);
  project.provide("dbUrl", embedded.url);
  return async () => {
    await embedded.stop();
  };
}
