// `actp timeline <job_id>`, `actp replay <job_id> [--from-step <name|n>]`, `actp diff <a> <b>`:
// forensics from a terminal (PRD §4.14), over the same statements as the `replay` function.
// Human-readable by default; --json prints what the function would answer.
import type { Command } from "commander";
import { ActpError } from "../../../shared/errors.ts";
import { fail, inTransaction, operator, withDb } from "../db.ts";
import { FromStep, JobId } from "../../../shared/forensics/contracts.ts";
import { diffRuns, inspectTimelinePage, replayJob, TIMELINE_PAGE_MAX } from "../../../shared/forensics/queries.ts";
import { renderDiff, renderReplay, renderTimeline } from "../../../shared/forensics/render.ts";

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
        // Page by page, each page its own short query, as the API serves it.
        const t = await withDb(async (db) => {
          const first = await inspectTimelinePage(db, id, { limit: TIMELINE_PAGE_MAX });
          const entries = [...first.entries];
          for (let cursor = first.next_cursor; cursor; ) {
            const page = await inspectTimelinePage(db, id, { limit: TIMELINE_PAGE_MAX, cursor });
            entries.push(...page.entries);
            cursor = page.next_cursor;
          }
          return { ...first, entries, next_cursor: null };
        }, 1);
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
