// `actp policy list|add|disable|spend|approvals`: the policy service (PRD §4.2) from a terminal.
// It talks to the database directly (DATABASE_URL, or the local `actp dev` database) through the
// shared/policy statements, the same ones the `policy` function uses; --json prints what the
// function would answer.
import type { Command } from "commander";
import type { Database } from "../../../shared/db/types.ts";
import { ActpError } from "../../../shared/errors.ts";
import { fail, operator, withDb } from "../db.ts";
import { APPROVAL_STATUSES, type OverrunRow, type Policy, type SpendRow } from "../../../shared/policy/contracts.ts";
import { allowlistWarnings } from "../../../shared/net/pattern-lint.ts";
import { createPolicy, decideApproval, listApprovals, listPolicies, spendOverruns, spendTotals, updatePolicy } from "../../../shared/policy/statements.ts";

interface JsonOpt {
  json?: boolean;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

function parseJsonArg(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new ActpError("policy.invalid_config", `${what} is not valid JSON: ${raw}`);
  }
}

const usd = (n: number) => `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 6 : 2)}`;
/** Allowlist patterns whose wildcard covers a public suffix (anyone can register under it). */
function warnings(p: Policy): string[] {
  if (p.policy_type !== "allowlist") return [];
  const domains = (p.config as { allowed_domains?: string[] }).allowed_domains ?? [];
  return allowlistWarnings(domains).map((w) => `warning: policy ${p.id} (${p.scope}): ${w.message}`);
}

const policyLine = (p: Policy) => [p.id, p.scope, p.policy_type, p.enabled ? "yes" : "no", JSON.stringify(p.config), p.description.split("\n")[0]!.slice(0, 40)];

export function register(program: Command): void {
  const policy = program.command("policy").description("the policy service: budgets, rate limits, allowlists, approvals");

  policy
    .command("list")
    .description("list policies")
    .option("--scope <scope>", 'only this scope ("global", "agent:<slug>", "tool:<name>")')
    .option("--type <type>", "only this type (budget, rate_limit, allowlist, safety)")
    .option("--enabled", "only enabled policies")
    .option("--disabled", "only disabled policies")
    .option("--json", "print JSON")
    .action(async (opts: JsonOpt & { scope?: string; type?: string; enabled?: boolean; disabled?: boolean }) => {
      try {
        const enabled = opts.enabled ? "true" : opts.disabled ? "false" : undefined;
        const rows = await withDb((db) => listPolicies(db, { scope: opts.scope, policy_type: opts.type as never, enabled }));
        if (opts.json) return print({ policies: rows });
        if (rows.length === 0) return console.log("no policies");
        console.log(table([["ID", "SCOPE", "TYPE", "ENABLED", "CONFIG", "DESCRIPTION"], ...rows.map(policyLine)]));
        for (const w of rows.flatMap(warnings)) console.error(w);
      } catch (err) {
        fail(err);
      }
    });

  policy
    .command("add <scope> <type> <config>")
    .description(`add a policy, e.g. actp policy add agent:researcher budget '{"daily_usd":5,"per_run_usd":0.5}'`)
    .option("--description <text>", "why this policy exists")
    .option("--disabled", "create it disabled")
    .option("--allow-unknown", "accept agent:<slug> for an agent not registered yet (the policy is flagged)")
    .option("--json", "print JSON")
    .action(async (scope: string, type: string, rawConfig: string, opts: JsonOpt & { description?: string; disabled?: boolean; allowUnknown?: boolean }) => {
      try {
        const config = parseJsonArg(rawConfig, "config");
        const p = await withDb((db) =>
          createPolicy(db, {
            scope,
            policy_type: type,
            config,
            description: opts.description,
            enabled: !opts.disabled,
            allow_unknown: opts.allowUnknown === true,
          } as never),
        );
        for (const w of warnings(p)) console.error(w);
        if (opts.json) return print(p);
        const flags = `${p.enabled ? "" : " (disabled)"}${p.allow_unknown ? " (agent not registered: allowed by --allow-unknown)" : ""}`;
        console.log(`added ${p.policy_type} policy ${p.id} for ${p.scope}${flags}: ${JSON.stringify(p.config)}`);
      } catch (err) {
        fail(err);
      }
    });

  for (const [action, enabled] of [["disable", false], ["enable", true]] as const) {
    policy
      .command(`${action} <id>`)
      .description(`${action} a policy`)
      .option("--json", "print JSON")
      .action(async (id: string, opts: JsonOpt) => {
        try {
          const p = await withDb((db) => updatePolicy(db, id, { enabled }));
          if (opts.json) return print(p);
          console.log(`${p.policy_type} policy ${p.id} for ${p.scope}: ${p.enabled ? "enabled" : "disabled"}`);
        } catch (err) {
          fail(err);
        }
      });
  }

  policy
    .command("spend")
    .description("ledger totals, grouped by any of agent,tool,run,day")
    .option("--by <groups>", "comma-separated: agent,tool,run,day", "agent,day")
    .option("--agent <slug>", "only this agent")
    .option("--tool <name>", "only this tool")
    .option("--run <id>", "only this run")
    .option("--from <iso>", "from this time (inclusive), ISO 8601 with offset")
    .option("--to <iso>", "until this time (exclusive), ISO 8601 with offset")
    .option("--tz <zone>", "time zone of the day grouping", "UTC")
    .option("--json", "print JSON")
    .action(async (opts: JsonOpt & { by: string; agent?: string; tool?: string; run?: string; from?: string; to?: string; tz: string }) => {
      try {
        const q = { group_by: opts.by, agent: opts.agent, tool: opts.tool, run_id: opts.run, from: opts.from, to: opts.to, tz: opts.tz };
        const [rows, overruns]: [SpendRow[], OverrunRow[]] = await withDb(async (db) => [await spendTotals(db, q), await spendOverruns(db, q)]);
        if (opts.json) return print({ totals: rows, overruns });
        if (rows.length === 0 || (rows.length === 1 && rows[0]!.calls === 0)) return console.log("no spend recorded");
        const cols = (["day", "agent_slug", "tool_name", "run_id"] as const).filter((c) => rows.some((r) => r[c] !== undefined));
        const head = cols.map((c) => ({ day: "DAY", agent_slug: "AGENT", tool_name: "TOOL", run_id: "RUN" })[c]);
        console.log(
          table([
            [...head, "CALLS", "TOTAL"],
            ...rows.map((r) => [...cols.map((c) => String(r[c] ?? "-")), String(r.calls), usd(r.total_usd)]),
          ]),
        );
        if (rows.length > 1) console.log(`total ${usd(rows.reduce((s, r) => s + r.total_usd, 0))} over ${rows.reduce((s, r) => s + r.calls, 0)} calls`);
        if (overruns.length > 0) {
          console.log(`\n${overruns.length} overrun${overruns.length === 1 ? "" : "s"} (spent more than reserved):`);
          console.log(
            table([
              ["SETTLED", "AGENT", "TOOL", "RUN", "RESERVED", "COST", "OVERRUN"],
              ...overruns.map((o) => [o.settled_at, o.agent_slug, o.tool_name, o.run_id ?? "-", usd(o.reserved_usd), usd(o.cost_usd), usd(o.overrun_usd)]),
            ]),
          );
        }
      } catch (err) {
        fail(err);
      }
    });

  const approvals = policy.command("approvals").description("approval requests of safety policies");

  approvals
    .command("list")
    .description("list approval requests (pending by default)")
    .option("--status <status>", `one of ${APPROVAL_STATUSES.join(", ")}, or "all"`, "pending")
    .option("--run <id>", "only this run")
    .option("--limit <n>", "at most this many", "100")
    .option("--json", "print JSON")
    .action(async (opts: JsonOpt & { status: string; run?: string; limit: string }) => {
      try {
        const status = opts.status === "all" ? undefined : opts.status;
        const rows = await withDb((db) => listApprovals(db, { status: status as never, run_id: opts.run, limit: opts.limit as never }));
        if (opts.json) return print({ approvals: rows });
        if (rows.length === 0) return console.log(`no ${status ?? ""} approval requests`.replace("  ", " "));
        console.log(
          table([
            ["ID", "STATUS", "AGENT", "TOOL", "ACTION", "RUN", "ARGS", "REQUESTED", "DECIDED BY"],
            ...rows.map((a) => [a.id, a.status, a.agent_slug, a.tool_name, a.action_type, a.run_id ?? "-", a.args_hash ?? "-", a.requested_at.slice(0, 19), a.decided_by ?? "-"]),
          ]),
        );
      } catch (err) {
        fail(err);
      }
    });

  for (const decision of ["approve", "deny"] as const) {
    approvals
      .command(`${decision} <id>`)
      .description(decision === "approve" ? "approve a pending request: that exact call passes once" : "deny a pending request: that call keeps being denied")
      .option("--by <who>", "who decides, kept as a label beside the database identity (default $ACTP_REVIEWER or your user name)")
      .option("--note <text>", "why")
      .option("--json", "print JSON")
      .action(async (id: string, opts: JsonOpt & { by: string; note?: string }) => {
        try {
          const a = await withDb((db) => decideApproval(db, id, decision, opts.by ?? operator(), opts.note));
          if (opts.json) return print(a);
          console.log(`${a.id}: ${a.status} by ${a.decided_by}${a.decided_label ? ` (${a.decided_label})` : ""} (${a.action_type} on ${a.tool_name} for ${a.agent_slug})`);
        } catch (err) {
          fail(err);
        }
      });
  }
}
