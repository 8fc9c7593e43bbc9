// `actp enqueue <agent> --input '<json>'`: submits a job through the same SQL function as the jobs
// function and the SDK.
import type { Command } from "commander";
import { createPgDatabase } from "../../../shared/db/pg.ts";
import { ActpError, exitStatusFor } from "../../../shared/errors.ts";
import { enqueueJob } from "../../../shared/jobs/submit.ts";
import { cliDatabaseUrl, fail, toCliError } from "../db.ts";

export function register(program: Command): void {
  program
    .command("enqueue")
    .description("submit a job for an agent")
    .argument("<agent>", "agent slug")
    .option("-i, --input <json>", "job input as JSON", "{}")
    .option("-o, --options <json>", "submit options as JSON (priority, start_after, retry_limit, expire_in_seconds, singleton_key, ...)", "{}")
    .option("--json", "print the result as JSON")
    .action(async (agent: string, opts: { input: string; options: string; json?: boolean }) => {
      const db = createPgDatabase({ connectionString: cliDatabaseUrl(), max: 1, applicationName: "actp-cli" });
      try {
        const input = parseJson(opts.input, "--input");
        const options = { source: "cli", ...(parseJson(opts.options, "--options") as object) };
        const receipt = await enqueueJob(db, agent, input, options);
        console.log(opts.json ? JSON.stringify(receipt) : `queued job ${receipt.id} for agent ${agent}`);
        if (receipt.warning && !opts.json) console.error(`warning: ${receipt.warning}`);
      } catch (err) {
        if (opts.json) {
          const e = toCliError(err);
          console.error(JSON.stringify(e.toBody()));
          process.exitCode = exitStatusFor(e.code);
        } else fail(err);
      } finally {
        await db.end().catch(() => {});
      }
    });
}

function parseJson(raw: string, flag: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new ActpError("cli.invalid_json", `${flag} is not valid JSON`);
  }
}
