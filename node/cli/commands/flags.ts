// `actp flags list|get|create|set|delete|eval`: feature flags (PRD §4.4) from a terminal. It talks to
// the database directly (ACTP_DATABASE_URL / DATABASE_URL, or the local `actp dev` database) through
// the same contracts and statements as the `feature-flags` function.
import type { Command } from "commander";
import type { Database } from "../../../shared/db/types.ts";
import { ActpError, notFound, parseWith } from "../../../shared/errors.ts";
import { fail, withDb } from "../db.ts";
import { CreateFlagInput, FlagContext, FlagKey, UpdateFlagInput, type FeatureFlag } from "../../../shared/flags/contracts.ts";
import { createFlag, deleteFlag, evaluateFlagsInDb, getFlag, listFlags, updateFlag } from "../../../shared/flags/queries.ts";
import type { z } from "zod";

async function run(fn: (db: Database) => Promise<unknown>): Promise<void> {
  try {
    const out = await withDb(fn);
    if (out !== undefined) console.log(JSON.stringify(out, null, 2));
  } catch (err) {
    fail(err);
  }
}

const pct = (raw: string) => (/^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
const keyArg = (raw: string) => parseWith(FlagKey, raw, "flags.invalid_key");
const found = (key: string, flag: FeatureFlag | null) => {
  if (!flag) throw notFound("flags.not_found", `no flag "${key}"`);
  return { flag };
};

interface FlagOpts {
  description?: string;
  enable?: boolean;
  disable?: boolean;
  rollout?: string;
  targets?: string[];
  expires?: string | false;
}

function fields(opts: FlagOpts): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (opts.description !== undefined) out.description = opts.description;
  if (opts.enable) out.enabled = true;
  if (opts.disable) out.enabled = false;
  if (opts.rollout !== undefined) out.rollout_pct = pct(opts.rollout);
  if (opts.targets !== undefined) out.target_ids = opts.targets;
  if (opts.expires === false) out.expires_at = null;
  else if (opts.expires !== undefined) out.expires_at = opts.expires;
  return out;
}

function flagOptions(cmd: Command): Command {
  return cmd
    .option("--description <text>", "what the flag is for")
    .option("--enable", "turn the flag on")
    .option("--disable", "turn the flag off")
    .option("--rollout <pct>", "rollout percentage, an integer 0-100")
    .option("--targets <ids...>", "ids always on (agent, user or *_id values); replaces the list")
    .option("--expires <iso>", "expiry time (ISO 8601 with offset)");
}

export function register(program: Command): void {
  const flags = program.command("flags").description("feature flags: list, create, change, evaluate");

  flags.command("list").description("all flags").action(() => run(async (db) => ({ flags: await listFlags(db) })));

  flags
    .command("get <key>")
    .description("one flag")
    .action((key: string) => run(async (db) => found(key, await getFlag(db, keyArg(key)))));

  flagOptions(flags.command("create <key>").description("create a flag (disabled, 0% unless told)")).action((key: string, opts: FlagOpts) =>
    run(async (db) => ({ flag: await createFlag(db, parseWith(CreateFlagInput, { flag_key: key, ...fields(opts) }, "validation.failed")) })),
  );

  flagOptions(flags.command("set <key>").description("change a flag's fields"))
    .option("--no-expires", "clear the expiry")
    .action((key: string, opts: FlagOpts) =>
      run(async (db) => found(key, await updateFlag(db, keyArg(key), parseWith(UpdateFlagInput, fields(opts), "validation.failed")))),
    );

  flags
    .command("delete <key>")
    .description("delete a flag")
    .action((key: string) => run(async (db) => found(key, await deleteFlag(db, keyArg(key)))));

  flags
    .command("eval <key>")
    .description("evaluate a flag for a context, in SQL, with the reason")
    .option("--agent <slug>", "the agent (the stickiness id)")
    .option("--user <id>", "the user (the stickiness id when there is no agent)")
    .option("--context <json>", "a full context object", "{}")
    .action((key: string, opts: { agent?: string; user?: string; context: string }) =>
      run(async (db) => {
        let raw: unknown;
        try {
          raw = JSON.parse(opts.context);
        } catch {
          throw new ActpError("flags.invalid_context", "--context is not JSON");
        }
        const base = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? raw : { "": raw };
        const ctx = parseWith(FlagContext, { ...base, ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.user ? { user: opts.user } : {}) }, "flags.invalid_context");
        return (await evaluateFlagsInDb(db, [keyArg(key)], ctx))[0];
      }),
    );
}
