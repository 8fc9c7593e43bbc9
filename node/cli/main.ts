#!/usr/bin/env node
// The actp command line. Every module in commands/ exports register(program) and owns its commands,
// so adding a command never touches this file.
import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";

const program = new Command();
program
  .name("actp")
  .description("actp: control, reliability, memory and telemetry for AI agents on Supabase")
  .version("0.1.0")
  .showHelpAfterError();

const dir = resolve(import.meta.dirname, "commands");
for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts")).sort()) {
  const mod = (await import(pathToFileURL(resolve(dir, file)).href)) as { register?: (p: Command) => void };
  if (typeof mod.register !== "function") throw new Error(`node/cli/commands/${file} must export register(program)`);
  mod.register(program);
}

await program.parseAsync(process.argv);
