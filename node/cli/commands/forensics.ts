// `actp timeline <job_id>`, `actp replay <job_id> [--from-step <name|n>]`, `actp diff <a> <b>`:
// forensics from a terminal (PRD §4.14), over the same statements as the `replay` function.
// Human-readable by default; --json prints what the function would answer.
import { userInfo } from "node:os";
import type { Command } from "commander";
import { createPgDatabase } from "../../../shared/db/pg.ts";
import type { Database } from "../../../shared/db/types.ts";
import { ActpError, fromPgError } from "../../../shared/errors.ts";
import { FromStep, JobId } from "../../../shared/forensics/contracts.ts";
import { diffRuns, inspectTimeline, replayJob } from "../../../shared/forensics/queries.ts";
import { renderDiff, renderReplay, renderTimeline } from "../../../shared/forensics/render.ts";

export function databaseUrl(): string {
  const explicit = process.env.ACTP_DATABASE_URL || process.env.DATABASE_URL;
  if (explicit) return explicit;
  return `postgres://postgres:postgres@127.0.0.1:${process.env.ACTP_DB_PORT || "54322"}/postgres?sslmode=disable`;
}

/** Runs fn in one transaction on the operator's connection (the database owner, like the service role). */
export async function inTransaction<T>(fn: Parameters<Database["transaction"]>[0]): Promise<T> {
  const db = createPgDatabase({ connectionString: databaseUrl(), max: 1, applicationName: "actp-cli" });
  try {
    return (await db.transaction(fn)) as T;
  } finally {
    await db.end();
  }
}

/** Prints the error the way the API words it; exit code 4 for not found, 1 otherwise. */
export function fail(err: unknown): void {
  const e = err instanceof ActpError ? err : fromPgError(err);
  if (e) {
    console.error(`error: ${e.code}: ${e.message}`);
    process.exitCode = e.status === 404 ? 4 : 1;
    return;
  }
  // Not a client error (the database is unreachable, say): one line, not a stack trace.
  const code = (err as { code?: unknown })?.code;
  console.error(`error: ${err instanceof Error ? err.message : String(err)}${code === "ECONNREFUSED" ? ` (is \`actp dev\` running, or DATABASE_URL set? tried ${databaseUrl().replace(/\/\/[^@]*@/, "//")})` : ""}`);
  process.exitCode = 1;
}

export function operator(): string {
  return process.env.ACTP_REVIEWER || userInfo().username || "cli";
}

export function jobIdArg(raw: string, name = "job id"): string {
  const r = JobId.safeParse(raw);
  if (!r.success) throw new ActpError("forensics.invalid_job_id", `${name} "${raw}" is not a UUID`);
  return r.data;
}

function fromStepArg(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const r = FromStep.safeParse(/^\d+$/.test(raw) ? Number(raw) : raw);
  if (!r.success) throw new ActpError("forensics.invalid_step", `--from-step "${raw}" is not a step name or a 1-based step number`);
  return r.data;
}

const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));

export function register(program: Command): void {
  program
    .command("timeline")
    .description("a job's events and steps in order, with offsets, gaps and durations")
    .argument("<job_id>")
    .option("--json", "print JSON for scripts")
    .action(async (raw: string, opts: { json?: boolean }) => {
      try {
        const id = jobIdArg(raw);
        const t = await inTransaction<Awaited<ReturnType<typeof inspectTimeline>>>((tx) => inspectTimeline(tx, id));
        if (opts.json) print(t);
        else console.log(renderTimeline(t));
      } catch (err) {
        fail(err);
      }
    });

  program
    .command("replay")
    .description("re-run a finished job as a new linked job, from the start or from a step (earlier steps reuse their recorded outputs)")
    .argument("<job_id>")
    .option("--from-step <name|n>", "step name, or its 1-based number as `actp timeline` shows it")
    .option("--json", "print JSON for scripts")
    .action(async (raw: string, opts: { fromStep?: string; json?: boolean }) => {
      try {
        const id = jobIdArg(raw);
        const fromStep = fromStepArg(opts.fromStep);
        const r = await inTransaction<Awaited<ReturnType<typeof replayJob>>>((tx) => replayJob(tx, id, { fromStep, requestedBy: `cli:${operator()}` }));
        if (opts.json) print(r);
        else console.log(renderReplay(r));
      } catch (err) {
        fail(err);
      }
    });

  program
    .command("diff")
    .description("compare two runs: input, steps (output, errors, status, reused vs ran), final output, timing")
    .argument("<a>", "the baseline job id")
    .argument("<b>", "the job id to compare with it")
    .option("--json", "print JSON for scripts")
    .action(async (rawA: string, rawB: string, opts: { json?: boolean }) => {
      try {
        const a = jobIdArg(rawA, "a");
        const b = jobIdArg(rawB, "b");
        const d = await inTransaction<Awaited<ReturnType<typeof diffRuns>>>((tx) => diffRuns(tx, a, b));
        if (opts.json) print(d);
        else console.log(renderDiff(d));
      } catch (err) {
        fail(err);
      }
    });
}
