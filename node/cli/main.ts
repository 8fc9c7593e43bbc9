#!/usr/bin/env node
// The actp command line. Each command lives in its own module; this file only wires them.
import { Command } from "commander";
import { registerDevCommand } from "./dev-command.ts";

const program = new Command();
program.name("actp").description("actp: control, reliability, memory and telemetry for AI agents on Supabase").version("0.1.0");
registerDevCommand(program);

await program.parseAsync(process.argv);
