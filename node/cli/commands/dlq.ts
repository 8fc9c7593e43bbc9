// `actp dlq list|show|replay|discard|fix`: the dead-letter review queue from a terminal (PRD §4.11),
// over the same statements as the `dlq` function. --json prints what the function would answer.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { BulkReplayBody, DlqId, DlqListQuery } from "../../../shared/dlq/contracts.ts";
import { discardDlq, fixDlq, getDlqItem, listDlq, replayDlq, replayDlqBulk } from "../../../shared/dlq/queries.ts";
import { renderBulk, renderDlqItem, renderDlqList, renderReview } from "../../../shared/dlq/render.ts";
import { ActpError, zodIssues, zodIssuesLine, type ErrorCode } from "../../../shared/errors.ts";
import type { z } from "zod";
import { fail, inTransaction, operator } from "../db.ts";

const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));

function idArg(raw: string): string {
  const r = DlqId.safeParse(raw);
  if (!r.success) throw new ActpError("dlq.invalid_id", `"${raw}" is not a DLQ item id (a UUID)`);
  return r.data;
}

function issues(code: ErrorCode, r: { error: z.ZodError }): ActpError {
  return new ActpError(code, zodIssuesLine(r.error), { details: zodIssues(r.error) });
}

async function readInput(opts: { input?: string; inputFile?: string }): Promise<unknown> {
  const text = opts.inputFile ? await readFile(opts.inputFile, "utf8") : opts.input;
  if (text === undefined) throw new ActpError("dlq.input_required", "give the corrected input with --input '<json>' or --input-file <path>");
  try {
    return JSON.parse(text);
  } catch {
    throw new ActpError("dlq.invalid_input", "the corrected input is not valid JSON");
  }
}

export function register(program: Command): void {
  const dlq = program.command("dlq").description("the dead-letter queue: review, replay, discard or fix jobs that exhausted their retries");

  dlq
    .command("list")
    .description("items needing review (pending by default), oldest first")
    .option("--status <status>", "pending | resolved | all", "pending")
    .option("--job-type <type>", "only this job type")
    .option("--agent <slug>", "only this agent")
    .option("--from <iso>", "enqueued at or after")
    .option("--to <iso>", "enqueued at or before")
    .option("--limit <n>", "page size (1-200)", "50")
    .option("--after <cursor>", "the cursor printed under the previous page")
    .option("--json", "print JSON for scripts")
    .action(async (o: Record<string, string | boolean | undefined>) => {
      try {
        const r = DlqListQuery.safeParse({
          status: o.status,
          job_type: o.jobType,
          agent_slug: o.agent,
          from: o.from,
          to: o.to,
          limit: o.limit,
          after: o.after,
        });
        if (!r.success) throw issues("dlq.invalid_query", r);
        const page = await inTransaction<Awaited<ReturnType<typeof listDlq>>>((tx) => listDlq(tx, r.data));
        if (o.json) print(page);
        else console.log(renderDlqList(page));
      } catch (err) {
        fail(err);
      }
    });

  dlq
    .command("show")
    .description("one item: its input, every recorded error, and the job's timeline")
    .argument("<id>")
    .option("--json", "print JSON for scripts")
    .action(async (raw: string, o: { json?: boolean }) => {
      try {
        const id = idArg(raw);
        const item = await inTransaction<Awaited<ReturnType<typeof getDlqItem>>>((tx) => getDlqItem(tx, id));
        if (o.json) print(item);
        else console.log(renderDlqItem(item));
      } catch (err) {
        fail(err);
      }
    });

  dlq
    .command("replay")
    .description("re-enqueue an item's job (idempotent), or every pending item matching --job-type/--from/--to with --all")
    .argument("[id]")
    .option("--all", "bulk replay by filter instead of one id")
    .option("--job-type <type>", "bulk: only this job type")
    .option("--from <iso>", "bulk: enqueued at or after")
    .option("--to <iso>", "bulk: enqueued at or before")
    .option("--limit <n>", "bulk: at most this many (1-1000)", "100")
    .option("--reviewer <name>", "who is reviewing (default $ACTP_REVIEWER or your user name)")
    .option("--note <text>", "why")
    .option("--json", "print JSON for scripts")
    .action(async (raw: string | undefined, o: Record<string, string | boolean | undefined>) => {
      try {
        const reviewer = (o.reviewer as string | undefined) ?? operator();
        const note = o.note as string | undefined;
        if (o.all) {
          if (raw) throw new ActpError("dlq.invalid_request", "give either an id or --all, not both");
          const body = BulkReplayBody.safeParse({
            filter: { job_type: o.jobType, from: o.from, to: o.to, limit: Number(o.limit) },
            reviewer,
            note,
          });
          if (!body.success) throw issues("dlq.invalid_filter", body);
          const r = await inTransaction<Awaited<ReturnType<typeof replayDlqBulk>>>((tx) => replayDlqBulk(tx, body.data));
          if (o.json) print(r);
          else console.log(renderBulk(r));
          if (r.failed > 0) process.exitCode = 1;
          return;
        }
        if (!raw) throw new ActpError("dlq.invalid_request", "give the id of the item to replay, or --all with a filter");
        const id = idArg(raw);
        const r = await inTransaction<Awaited<ReturnType<typeof replayDlq>>>((tx) => replayDlq(tx, id, reviewer, note));
        if (o.json) print(r);
        else console.log(renderReview(r));
      } catch (err) {
        fail(err);
      }
    });

  dlq
    .command("discard")
    .description("close an item without re-running it")
    .argument("<id>")
    .option("--reviewer <name>", "who is discarding it, kept as a label (default $ACTP_REVIEWER or your user name)")
    .option("--note <text>", "why")
    .option("--json", "print JSON for scripts")
    .action(async (raw: string, o: { reviewer?: string; note?: string; json?: boolean }) => {
      try {
        const id = idArg(raw);
        const r = await inTransaction<Awaited<ReturnType<typeof discardDlq>>>((tx) => discardDlq(tx, id, o.reviewer ?? operator(), o.note));
        if (o.json) print(r);
        else console.log(renderReview(r));
      } catch (err) {
        fail(err);
      }
    });

  dlq
    .command("fix")
    .description("replay with a corrected input, checked against the agent's input schema first")
    .argument("<id>")
    .option("--input <json>", "the corrected input")
    .option("--input-file <path>", "read the corrected input from a JSON file")
    .option("--reviewer <name>", "who is fixing it (default $ACTP_REVIEWER or your user name)")
    .option("--note <text>", "what was wrong")
    .option("--json", "print JSON for scripts")
    .action(async (raw: string, o: { input?: string; inputFile?: string; reviewer?: string; note?: string; json?: boolean }) => {
      try {
        const id = idArg(raw);
        const input = await readInput(o);
        const reviewer = o.reviewer ?? operator();
        const r = await inTransaction<Awaited<ReturnType<typeof fixDlq>>>((tx) => fixDlq(tx, id, reviewer, input, o.note));
        if (o.json) print(r);
        else console.log(renderReview(r));
      } catch (err) {
        if (err instanceof ActpError && err.details) {
          fail(err);
          console.error(JSON.stringify(err.details, null, 2));
        } else fail(err);
      }
    });
}
