#!/usr/bin/env node
// The actp command line. Every module in commands/ exports register(program) and owns its commands,
// so adding a command never touches this file. Options every command takes: --db-url (see
// discovery.ts for how the database is found) and --debug (stack traces). Every failure, a usage
// error included, is one line `error: <code>: <message>` with the catalog's exit status.
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError } from "commander";
import { ActpError } from "../../shared/errors.ts";
import { fail } from "./db.ts";

const program = new Command();
program
  .name("actp")
  .description("actp: control, reliability, memory and telemetry for AI agents on Supabase")
  .version("0.1.0")
  .option("--db-url <url>", "the database (default: DATABASE_URL, else the running `actp dev` of ACTP_DATA_DIR or ./.actp, else 127.0.0.1:54322)")
  .option("--debug", "print stack traces")
  // Usage errors become exceptions (below), printed like every other error; --help and --version still print and exit 0.
  .exitOverride()
  .configureOutput({ outputError: () => {} })
  .hook("preAction", (_program, action) => {
    const o = action.optsWithGlobals() as { dbUrl?: string; debug?: boolean };
    if (o.dbUrl) process.env.ACTP_CLI_DB_URL = o.dbUrl;
    if (o.debug) process.env.ACTP_DEBUG = "1";
  });

const dir = resolve(import.meta.dirname, "commands");
for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
  const mod = (await import(pathToFileURL(resolve(dir, file)).href)) as { register?: (p: Command) => void };
  if (typeof mod.register !== "function") throw new Error(`node/cli/commands/${file} must export register(program)`);
  mod.register(program);
}

// A failure that escapes a command (or happens after it returned, in a timer) is still one line.
process.on("uncaughtException", (err) => {
  fail(err);
  process.exit(process.exitCode ?? 1);
});
process.on("unhandledRejection", (err) => {
  fail(err);
  process.exit(process.exitCode ?? 1);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // help and version are not failures.
    if (err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version") process.exit(0);
    // `actp` alone prints the help (commander already did) and exits as a usage error.
    if (err.code === "commander.help") process.exit(2);
    fail(new ActpError("cli.usage", `${err.message.replace(/^error: /, "")} (see actp --help)`));
  } else {
    fail(err);
  }
}
