import type { Command } from "commander";
import { devConfigFromEnv } from "../../config.ts";
import { redactUrl, startDev, type DevPlatform } from "../../dev.ts";
import { DevError } from "../../dev-errors.ts";
import { removeDevRecord, writeDevRecord } from "../discovery.ts";

export function register(program: Command): void {
  program
    .command("dev")
    .description("run actp locally: embedded Postgres (or DATABASE_URL), migrations, functions gateway, scheduler")
    .option("--memory", "use a throwaway in-memory database")
    .option("--data-dir <dir>", "data directory (default .actp, or ACTP_DATA_DIR)")
    .option("--db-port <port>", "Postgres wire-protocol port (default 54322, or ACTP_DB_PORT)")
    .option("--api-port <port>", "functions gateway port (default 54321, or ACTP_API_PORT)")
    .option("--no-scheduler", "do not run actp_schedules locally")
    .option("--no-examples", "do not run the example agents in-process")
    .action(async (opts: { memory?: boolean; dataDir?: string; dbPort?: string; apiPort?: string; scheduler: boolean; examples: boolean }) => {
      if (opts.dbPort) process.env.ACTP_DB_PORT = opts.dbPort;
      if (opts.apiPort) process.env.ACTP_API_PORT = opts.apiPort;
      const started = Date.now();
      const log = (line: string) => console.log(`  ${line}`);
      let platform: DevPlatform;
      try {
        const cfg = devConfigFromEnv({ memory: opts.memory, dataDir: opts.dataDir });
        console.log("actp dev: starting");
        platform = await startDev(cfg, { scheduler: opts.scheduler, examples: opts.examples, log });
      } catch (err) {
        // One line with a code and the catalog's exit status (README "Errors"); the stack only
        // with ACTP_DEBUG=1.
        if (process.env.ACTP_DEBUG) console.error(err);
        if (err instanceof DevError) {
          console.error(`error: ${err.code}: ${err.message}`);
          process.exit(err.exitStatus);
        }
        console.error(`error: dev.start_failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
      // Where it listens, for every other command run against this data directory (discovery.ts).
      const dataDir = devConfigFromEnv({ memory: opts.memory, dataDir: opts.dataDir }).dataDir;
      if (dataDir) {
        writeDevRecord(dataDir, { db_url: platform.dbUrl, api_url: platform.apiUrl });
        process.on("exit", () => removeDevRecord(dataDir));
      }
      printBanner(platform, Date.now() - started);
      let stopping = false;
      const shutdown = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`\nactp dev: ${signal}, stopping`);
        await platform.stop();
        console.log("actp dev: stopped");
        process.exit(0);
      };
      process.on("SIGINT", () => void shutdown("SIGINT"));
      process.on("SIGTERM", () => void shutdown("SIGTERM"));
    });
}

function printBanner(p: DevPlatform, ms: number): void {
  const fn = (name: string) => `${p.apiUrl}/functions/v1/${name}`;
  console.log(`
actp is running (started in ${(ms / 1000).toFixed(1)} s)

         API URL: ${p.apiUrl}
       Dashboard: ${p.apiUrl}/dashboard/   (sign in with: npx actp operators token --role operator)
       Functions: ${p.functions.map((n) => `/functions/v1/${n}`).join(", ")}
          DB URL: ${p.embedded ? p.dbUrl : redactUrl(p.dbUrl)}
       Scheduler: ${p.schedulerExecutor}
        anon key: ${p.keys.anonKey}
service_role key: ${p.keys.serviceRoleKey}

Use it from another shell (every \`npx actp\` command run here finds it by itself, from ${"${ACTP_DATA_DIR:-./.actp}"}/dev.json):
  ${p.embedded ? `export DATABASE_URL='${p.dbUrl}'` : "# DATABASE_URL: the database you gave actp dev"}
  export SUPABASE_URL='${p.apiUrl}' ACTP_API_URL='${p.apiUrl}'
  export ANON_KEY='${p.keys.anonKey}'
  export SERVICE_ROLE_KEY='${p.keys.serviceRoleKey}'

Try:
  psql '${p.embedded ? p.dbUrl : redactUrl(p.dbUrl)}' -c 'select type, created_at from actp_events order by seq desc limit 5'
  curl -s ${fn("health")} -H 'Authorization: Bearer ${p.keys.anonKey}'

${p.examples ? `Run the example researcher agent (then: npx actp timeline <job id>):
  curl -s -X POST ${fn("jobs")} -H 'Authorization: Bearer ${p.keys.serviceRoleKey}' -H 'content-type: application/json' \\
    -d '${JSON.stringify({ agent: "researcher", input: p.examples.sampleInput })}'
` : ""}
Ctrl-C stops everything; data is kept${p.embedded ? "" : " in your DATABASE_URL database"}.`);
}
