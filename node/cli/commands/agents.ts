// `actp agents list|show|versions|enable|disable`: the agent registry from a terminal. It talks to
// the database directly (DATABASE_URL, or the local `actp dev` database), through the same
// statements as the `agents` function; --json prints what the function would answer.
import type { Command } from "commander";
import { AgentSlug, AgentVersionsQuery } from "../../../shared/agents/contracts.ts";
import {
  getAgent,
  listAgentVersions,
  listAgents,
  setAgentEnabled,
} from "../../../shared/agents/statements.ts";
import type { Database } from "../../../shared/db/types.ts";
import { ActpError } from "../../../shared/errors.ts";
import { fail, withDb } from "../db.ts";

interface JsonOpt {
  json?: boolean;
}

function slugArg(raw: string): string {
  const r = AgentSlug.safeParse(raw);
  if (!r.success) throw new ActpError("agents.invalid_slug", `"${raw}" is not an agent slug: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

export function register(program: Command): void {
  const agents = program.command("agents").description("the agent registry: definitions, versions, enable/disable");

  agents
    .command("list")
    .description("list registered agents")
    .option("--enabled", "only enabled agents")
    .option("--disabled", "only disabled agents")
    .option("--json", "print JSON")
    .action(async (opts: JsonOpt & { enabled?: boolean; disabled?: boolean }) => {
      try {
        const enabled = opts.enabled ? true : opts.disabled ? false : undefined;
        const rows = await withDb((db) => listAgents(db, { enabled }));
        if (opts.json) return print({ agents: rows });
        if (rows.length === 0) return console.log("no agents registered");
        console.log(
          table([
            ["SLUG", "VERSION", "ENABLED", "CAPABILITIES", "UPDATED", "DESCRIPTION"],
            ...rows.map((a) => [a.slug, `v${a.version}`, a.enabled ? "yes" : "no", String(a.capability_count), a.updated_at.slice(0, 19), a.description.split("\n")[0]!.slice(0, 60)]),
          ]),
        );
      } catch (err) {
        fail(err);
      }
    });

  agents
    .command("show <slug>")
    .description("show an agent's current definition")
    .option("--json", "print JSON")
    .action(async (raw: string, opts: JsonOpt) => {
      try {
        const slug = slugArg(raw);
        const a = await withDb((db) => getAgent(db, slug));
        if (!a) throw new ActpError("agents.not_found", `no agent "${slug}"`);
        if (opts.json) return print(a);
        const policy = Object.entries(a.model_policy).map(([k, v]) => `${k}=${String(v)}`).join(", ");
        console.log(
          [
            `${a.slug}  v${a.version}  ${a.enabled ? "enabled" : "DISABLED"}`,
            a.description ? `  ${a.description}` : null,
            `  capabilities: ${a.capabilities.length ? a.capabilities.map((c) => `${c.tool}(${c.tier})`).join(", ") : "none"}`,
            `  memory_read:  ${a.memory_read.join(", ") || "none"}`,
            `  memory_write: ${a.memory_write.join(", ") || "none"}`,
            `  model_policy: ${policy || "default"}`,
            `  input_schema: ${JSON.stringify(a.input_schema)}`,
            `  hash ${a.definition_hash.slice(0, 12)}  registered ${a.created_at}  updated ${a.updated_at}`,
          ]
            .filter((l) => l !== null)
            .join("\n"),
        );
      } catch (err) {
        fail(err);
      }
    });

  agents
    .command("versions <slug>")
    .description("an agent's version history, newest first")
    .option("--limit <n>", "how many versions", "50")
    .option("--before <version>", "versions older than this one")
    .option("--json", "print JSON")
    .action(async (raw: string, opts: JsonOpt & { limit: string; before?: string }) => {
      try {
        const slug = slugArg(raw);
        const q = AgentVersionsQuery.safeParse({ limit: opts.limit, before: opts.before });
        if (!q.success) throw new ActpError("agents.invalid_query", q.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
        const page = await withDb((db) => listAgentVersions(db, slug, q.data));
        if (!page) throw new ActpError("agents.not_found", `no agent "${slug}"`);
        if (opts.json) return print(page);
        for (const v of page.versions) console.log(`v${v.version}  ${v.deployed_at}  ${v.changelog}`);
        if (page.next_before !== null) console.log(`(more: --before ${page.next_before})`);
      } catch (err) {
        fail(err);
      }
    });

  for (const [action, enabled] of [["enable", true], ["disable", false]] as const) {
    agents
      .command(`${action} <slug>`)
      .description(`${action} an agent${enabled ? "" : ": its jobs are refused until it is enabled again"}`)
      .option("--json", "print JSON")
      .action(async (raw: string, opts: JsonOpt) => {
        try {
          const slug = slugArg(raw);
          const r = await withDb((db) => setAgentEnabled(db, slug, enabled));
          if (opts.json) return print(r);
          console.log(`${r.slug} v${r.version}: ${r.enabled ? "enabled" : "disabled"}${r.changed ? "" : " (already)"}`);
        } catch (err) {
          fail(err);
        }
      });
  }
}
