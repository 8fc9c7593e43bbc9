// Every SQL statement of the policy service, one typed function each (pg-boss plans.ts style).
// The worker SDK (ctx.tool, ctx.llm), the `policy` function and the CLI call these; nothing else
// writes policy SQL. Postgres errors raised with our codes come back as ActpError.
import type { Queryable } from "../db/types.ts";
import { badRequest, fromPgError, notFound, parseWith } from "../errors.ts";
import { canonicalizeUrl } from "../net/allowlist.ts";
import {
  Approval,
  ApprovalQuery,
  CONFIG_SCHEMAS,
  Policy,
  PolicyCheckRequest,
  PolicyDecision,
  PolicyInput,
  PolicyListQuery,
  PolicyPatch,
  SettleRequest,
  SettleResult,
  SpendQuery,
  type SpendRow,
  type OverrunRow,
} from "./contracts.ts";
import type { z } from "zod";

const iso = (col: string) => `to_json(${col}) #>> '{}'`;
const POLICY_COLUMNS = `id, scope, policy_type, config, description, enabled, allow_unknown, ${iso("created_at")} as created_at, ${iso("updated_at")} as updated_at`;
const APPROVAL_COLUMNS = `id, policy_id, run_id, agent_slug, tool_name, action_type, args_hash, status,
  ${iso("requested_at")} as requested_at, decided_by, decided_label, ${iso("decided_at")} as decided_at, note, ${iso("consumed_at")} as consumed_at`;

async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromPgError(err) ?? err;
  }
}

/**
 * The guardrail's question, answered in ONE round trip: every applicable policy is evaluated and,
 * when allowed, the estimate is reserved and rate-limit slots taken, atomically. The target URL is
 * canonicalised here with the WHATWG parser (the database refuses anything not in that form), and
 * the caller must fetch `canonical.href`, not the raw string. An unparsable URL is a denial
 * without a round trip. Malformed input throws ActpError (400).
 */
export async function checkPolicy(db: Queryable, req: PolicyCheckRequest): Promise<PolicyDecision> {
  const r = parseWith(PolicyCheckRequest, req, "policy.invalid_check");
  let target: string | null = null;
  if (r.target_url != null) {
    const url = canonicalizeUrl(r.target_url);
    if (!url.ok) return { allowed: false, reason: "invalid_url", message: url.message, retry_after: null, policy_id: null };
    target = url.href;
  }
  const { rows } = await run(() =>
    db.query<{ d: PolicyDecision }>(
      `select public.actp_policy_check($1::text, $2::text, $3::text, $4::uuid, $5::numeric, $6::text, $7::text) as d`,
      [r.agent_slug, r.tool_name, r.action_type, r.run_id ?? null, String(r.estimated_cost_usd), target, r.args_hash ?? null],
    ),
  );
  return rows[0]!.d;
}

/**
 * Records what the call actually cost and frees the rest of its reservation. Unknown reservation:
 * policy.reservation.not_found (404); already settled: policy.reservation.conflict (409); nothing
 * is written in either case.
 */
export async function settlePolicy(db: Queryable, reservationId: string, actualCostUsd: number): Promise<SettleResult> {
  const { reservation_id, actual_cost_usd } = parseWith(
    SettleRequest,
    { reservation_id: reservationId, actual_cost_usd: actualCostUsd },
    "policy.invalid_settle",
  );
  const { rows } = await run(() =>
    db.query<{ r: SettleResult }>(`select public.actp_policy_settle($1::uuid, $2::numeric) as r`, [reservation_id, String(actual_cost_usd)]),
  );
  return rows[0]!.r;
}

// Policies -----------------------------------------------------------------------------------------

export async function listPolicies(db: Queryable, q: z.input<typeof PolicyListQuery> = {}): Promise<Policy[]> {
  const f = parseWith(PolicyListQuery, q, "policy.invalid_query");
  const { rows } = await run(() =>
    db.query<Policy>(
      `select ${POLICY_COLUMNS} from public.actp_policies
       where ($1::text is null or scope = $1) and ($2::text is null or policy_type = $2) and ($3::boolean is null or enabled = $3)
       order by scope, policy_type, created_at, id`,
      [f.scope ?? null, f.policy_type ?? null, f.enabled ?? null],
    ),
  );
  return rows;
}

export async function getPolicy(db: Queryable, id: string): Promise<Policy> {
  const { rows } = await run(() => db.query<Policy>(`select ${POLICY_COLUMNS} from public.actp_policies where id = $1::uuid`, [id]));
  if (!rows[0]) throw notFound("policy.not_found", `no policy ${id}`);
  return rows[0];
}

export async function createPolicy(db: Queryable, input: z.input<typeof PolicyInput>): Promise<Policy> {
  const p = parseWith(PolicyInput, input, "policy.invalid_policy");
  const { rows } = await run(() =>
    db.query<Policy>(
      `insert into public.actp_policies (scope, policy_type, config, description, enabled, allow_unknown)
       values ($1, $2, $3::jsonb, $4, $5, $6) returning ${POLICY_COLUMNS}`,
      [p.scope, p.policy_type, JSON.stringify(p.config), p.description ?? "", p.enabled ?? true, p.allow_unknown ?? false],
    ),
  );
  return rows[0]!;
}

/** Validates a new config against the stored policy type; run it inside one transaction. */
export async function updatePolicy(db: Queryable, id: string, patch: z.input<typeof PolicyPatch>): Promise<Policy> {
  const p = parseWith(PolicyPatch, patch, "policy.invalid_patch");
  let config: string | null = null;
  if (p.config !== undefined) {
    const { rows } = await run(() =>
      db.query<{ policy_type: keyof typeof CONFIG_SCHEMAS }>(`select policy_type from public.actp_policies where id = $1::uuid for update`, [id]),
    );
    if (!rows[0]) throw notFound("policy.not_found", `no policy ${id}`);
    config = JSON.stringify(parseWith(CONFIG_SCHEMAS[rows[0].policy_type], p.config, "policy.invalid_config"));
  }
  const { rows } = await run(() =>
    db.query<Policy>(
      `update public.actp_policies set
         scope = coalesce($2, scope), config = coalesce($3::jsonb, config),
         description = coalesce($4, description), enabled = coalesce($5, enabled),
         allow_unknown = coalesce($6, allow_unknown)
       where id = $1::uuid returning ${POLICY_COLUMNS}`,
      [id, p.scope ?? null, config, p.description ?? null, p.enabled ?? null, p.allow_unknown ?? null],
    ),
  );
  if (!rows[0]) throw notFound("policy.not_found", `no policy ${id}`);
  return rows[0];
}

export async function deletePolicy(db: Queryable, id: string): Promise<void> {
  const { rowCount } = await run(() => db.query(`delete from public.actp_policies where id = $1::uuid`, [id]));
  if (!rowCount) throw notFound("policy.not_found", `no policy ${id}`);
}

// Spend ---------------------------------------------------------------------------------------------

// Group columns come from this fixed map, never from the caller's text.
const GROUP_SQL = {
  agent: { select: "agent_slug", group: "agent_slug" },
  tool: { select: "tool_name", group: "tool_name" },
  run: { select: "run_id", group: "run_id" },
  day: { select: "((created_at at time zone $6::text)::date)::text as day", group: "((created_at at time zone $6::text)::date)" },
} as const;

/** Ledger totals grouped by any of agent, tool, run, day (the day in `tz`), with filters. */
export async function spendTotals(db: Queryable, q: SpendQuery = {}): Promise<SpendRow[]> {
  const f = parseWith(SpendQuery, q, "policy.invalid_spend_query");
  const groups = f.group_by;
  const select = groups.map((g) => GROUP_SQL[g].select);
  const groupBy = groups.map((g) => GROUP_SQL[g].group);
  const params: unknown[] = [f.agent ?? null, f.tool ?? null, f.run_id ?? null, f.from ?? null, f.to ?? null];
  // $6 exists only when a day is grouped on: Postgres refuses a parameter it cannot type.
  if (groups.includes("day")) params.push(f.tz);
  const { rows } = await run(() =>
    db.query<SpendRow>(
      `select ${[...select, "coalesce(sum(cost_usd), 0)::float8 as total_usd", "count(*)::int as calls"].join(", ")}
       from public.actp_budget_ledger
       where ($1::text is null or agent_slug = $1) and ($2::text is null or tool_name = $2) and ($3::uuid is null or run_id = $3)
         and ($4::timestamptz is null or created_at >= $4) and ($5::timestamptz is null or created_at < $5)
       ${groupBy.length ? `group by ${groupBy.join(", ")} order by ${groupBy.join(", ")}` : ""}`,
      params,
    ),
  );
  return rows;
}

/**
 * Every settle that cost more than its check reserved, newest first, with the reservation beside it
 * (same filters as spendTotals). At most `limit` rows.
 */
export async function spendOverruns(db: Queryable, q: SpendQuery = {}, limit = 500): Promise<OverrunRow[]> {
  const f = parseWith(SpendQuery, q, "policy.invalid_spend_query");
  const { rows } = await run(() =>
    db.query<OverrunRow>(
      `select id as ledger_id, reservation_id, agent_slug, tool_name, run_id::text as run_id,
              estimated_usd::float8 as estimated_usd, coalesce(reserved_usd, estimated_usd)::float8 as reserved_usd,
              cost_usd::float8 as cost_usd, overrun_usd::float8 as overrun_usd,
              to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as settled_at
       from public.actp_budget_ledger
       where overrun_usd > 0
         and ($1::text is null or agent_slug = $1) and ($2::text is null or tool_name = $2) and ($3::uuid is null or run_id = $3)
         and ($4::timestamptz is null or created_at >= $4) and ($5::timestamptz is null or created_at < $5)
       order by created_at desc, id limit $6`,
      [f.agent ?? null, f.tool ?? null, f.run_id ?? null, f.from ?? null, f.to ?? null, limit],
    ),
  );
  return rows;
}

// Approvals -----------------------------------------------------------------------------------------

export async function listApprovals(db: Queryable, q: ApprovalQuery = {}): Promise<Approval[]> {
  const f = parseWith(ApprovalQuery, q, "policy.invalid_approval_query");
  const { rows } = await run(() =>
    db.query<Approval>(
      `select ${APPROVAL_COLUMNS} from public.actp_policy_approvals
       where ($1::text is null or status = $1) and ($2::uuid is null or run_id = $2)
       order by requested_at, id limit $3`,
      [f.status ?? null, f.run_id ?? null, f.limit],
    ),
  );
  return rows;
}

/** pending → approved | denied. Unknown id: 404; already decided: 409. */
export async function decideApproval(
  db: Queryable,
  id: string,
  decision: "approve" | "deny",
  /** A label beside the identity, which the database takes from the caller's token. */
  decidedBy?: string | null,
  note?: string | null,
): Promise<Approval> {
  const { rows } = await run(() =>
    db.query<{ a: Record<string, unknown> }>(`select public.actp_policy_decide_approval($1::uuid, $2::text, $3::text, $4::text) as a`, [
      id,
      decision,
      decidedBy ?? null,
      note ?? null,
    ]),
  );
  // Re-read through the same column list so timestamps have the one string form.
  const { rows: out } = await run(() => db.query<Approval>(`select ${APPROVAL_COLUMNS} from public.actp_policy_approvals where id = $1::uuid`, [rows[0]!.a.id]));
  return out[0]!;
}
