// PRD §4.2 policy service contracts: one zod schema per shape, types inferred. The database holds
// the same rules (actp_policy_config_is_valid, actp_policy_scope_is_valid) so a direct SQL write
// cannot get around them; these give HTTP callers zod issues instead of a constraint name.
import { z } from "zod";
import { isValidDomainPattern } from "../net/allowlist.ts";

export const AGENT_SLUG_RE = /^[a-z][a-z0-9_-]{0,62}$/;
export const TOOL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$/;
export const ACTION_TYPE_RE = /^[a-z][a-z0-9_.:-]{0,99}$/;

export const AgentSlug = z.string().regex(AGENT_SLUG_RE, "an agent slug: lowercase letter, then [a-z0-9_-], at most 63");
export const ToolName = z.string().regex(TOOL_NAME_RE, 'a tool name like "web.fetch": [A-Za-z0-9][A-Za-z0-9_.:/-], at most 200');
export const ActionType = z.string().regex(ACTION_TYPE_RE, 'an action type like "network_read": [a-z][a-z0-9_.:-], at most 100');

export const PolicyScope = z.union([
  z.literal("global"),
  z.templateLiteral(["agent:", z.string()]).refine((s) => AGENT_SLUG_RE.test(s.slice(6)), "agent:<slug> needs a valid agent slug"),
  z.templateLiteral(["tool:", z.string()]).refine((s) => TOOL_NAME_RE.test(s.slice(5)), "tool:<name> needs a valid tool name"),
], { error: 'scope must be "global", "agent:<slug>" or "tool:<name>"' });
export type PolicyScope = z.infer<typeof PolicyScope>;

const Usd = z.number().finite().min(0).max(1e9);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * daily_usd: spend per calendar day in day_boundary_tz (IANA zone, default UTC). per_run_usd: spend
 * per run_id. Both halve in incident mode. reservation_ttl_seconds: how long an unsettled estimate
 * holds budget (default 900). min_reservation_usd: the least a check reserves whatever its estimate
 * (a check also reserves at least the max of the agent's last 20 settles of the tool; both are capped
 * at the smallest applicable limit).
 */
export const BudgetConfig = z
  .strictObject({
    daily_usd: Usd.optional(),
    per_run_usd: Usd.optional(),
    day_boundary_tz: z
      .string()
      .max(64)
      .regex(/^[A-Za-z][A-Za-z0-9_+/-]*$/, "an IANA time zone such as UTC or Europe/Berlin")
      .refine(isTimeZone, "unknown time zone")
      .optional(),
    reservation_ttl_seconds: z.number().int().min(10).max(86400).optional(),
    min_reservation_usd: Usd.optional(),
  })
  .refine((c) => c.daily_usd !== undefined || c.per_run_usd !== undefined, "a budget needs daily_usd or per_run_usd");
export type BudgetConfig = z.infer<typeof BudgetConfig>;

/** Calls per sliding minute (and hour) for the policy's scope; `tool` narrows it to one tool. */
export const RateLimitConfig = z.strictObject({
  tool: ToolName.optional(),
  max_per_minute: z.number().int().min(1).max(1_000_000),
  max_per_hour: z.number().int().min(1).max(100_000_000).optional(),
});
export type RateLimitConfig = z.infer<typeof RateLimitConfig>;

export const DomainPattern = z
  .string()
  .refine(isValidDomainPattern, 'a lowercase ASCII host (IDN as punycode), "*.suffix" or "label.*", optionally ":port"');

export const AllowlistConfig = z.strictObject({ allowed_domains: z.array(DomainPattern).max(1000) });
export type AllowlistConfig = z.infer<typeof AllowlistConfig>;

export const SafetyConfig = z.strictObject({ require_approval_for: z.array(ActionType).max(100) });
export type SafetyConfig = z.infer<typeof SafetyConfig>;

const common = {
  scope: PolicyScope,
  description: z.string().max(2000).optional(),
  enabled: z.boolean().optional(),
  allow_unknown: z.boolean().optional().describe("accept a scope agent:<slug> whose agent is not registered (flagged on the policy)"),
};
export const PolicyInput = z.discriminatedUnion("policy_type", [
  z.strictObject({ ...common, policy_type: z.literal("budget"), config: BudgetConfig }),
  z.strictObject({ ...common, policy_type: z.literal("rate_limit"), config: RateLimitConfig }),
  z.strictObject({ ...common, policy_type: z.literal("allowlist"), config: AllowlistConfig }),
  z.strictObject({ ...common, policy_type: z.literal("safety"), config: SafetyConfig }),
]);
export type PolicyInput = z.infer<typeof PolicyInput>;
export type PolicyType = PolicyInput["policy_type"];

export const CONFIG_SCHEMAS = {
  budget: BudgetConfig,
  rate_limit: RateLimitConfig,
  allowlist: AllowlistConfig,
  safety: SafetyConfig,
} as const;

/** A patch may change scope, config (validated against the stored type), description, enabled. */
export const PolicyPatch = z
  .strictObject({
    scope: PolicyScope.optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    description: z.string().max(2000).optional(),
    enabled: z.boolean().optional(),
    allow_unknown: z.boolean().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, "a patch needs at least one field");
export type PolicyPatch = z.infer<typeof PolicyPatch>;

export const Policy = z.object({
  id: z.uuid(),
  scope: z.string(),
  policy_type: z.enum(["budget", "rate_limit", "allowlist", "safety"]),
  config: z.record(z.string(), z.unknown()),
  description: z.string(),
  enabled: z.boolean(),
  allow_unknown: z.boolean().describe("created for an agent that was not registered then"),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Policy = z.infer<typeof Policy>;

export const PolicyListQuery = z.strictObject({
  scope: z.string().max(210).optional(),
  policy_type: z.enum(["budget", "rate_limit", "allowlist", "safety"]).optional(),
  enabled: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
});
export type PolicyListQuery = z.infer<typeof PolicyListQuery>;

/** Before a tool call: may agentSlug call toolName now, at about this cost, against this URL? */
export const PolicyCheckRequest = z.strictObject({
  agent_slug: AgentSlug,
  tool_name: ToolName,
  action_type: ActionType,
  run_id: z.uuid().nullable().optional(),
  estimated_cost_usd: Usd.default(0),
  target_url: z.string().min(1).max(8192).nullable().optional(),
  args_hash: z.string().min(1).max(200).nullable().optional(),
});
export type PolicyCheckRequest = z.input<typeof PolicyCheckRequest>;

export const DENIAL_REASONS = [
  "unknown_agent",
  "agent_disabled",
  "tool_not_permitted",
  "invalid_url",
  "url_required",
  "domain_not_allowed",
  "rate_limited",
  "budget_exceeded",
  "cost_unknown",
  "approval_required",
  "approval_denied",
] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

export const PolicyAllowed = z.object({
  allowed: z.literal(true),
  reservation_id: z.uuid(),
  /** What the check holds: max(estimate, min_reservation_usd, recent actual cost), capped at the limit. */
  reserved_usd: z.number(),
  expires_at: z.string(),
  approval_id: z.uuid().nullable(),
});
export const PolicyDenied = z.object({
  allowed: z.literal(false),
  reason: z.enum(DENIAL_REASONS),
  message: z.string(),
  /** Seconds until the same call could pass (rate limits, daily budgets); null when waiting won't help. */
  retry_after: z.number().int().nullable(),
  policy_id: z.uuid().nullable(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export const PolicyDecision = z.discriminatedUnion("allowed", [PolicyAllowed, PolicyDenied]);
export type PolicyDecision = z.infer<typeof PolicyDecision>;
export type PolicyDenied = z.infer<typeof PolicyDenied>;

export const SettleRequest = z.strictObject({
  reservation_id: z.uuid(),
  actual_cost_usd: Usd,
});
export type SettleRequest = z.infer<typeof SettleRequest>;

export const SettleResult = z.object({
  reservation_id: z.uuid(),
  ledger_id: z.uuid(),
  cost_usd: z.number(),
  reserved_usd: z.number(),
  released_usd: z.number(),
  /** The reservation had lapsed before this settle; the spend is recorded anyway. */
  expired: z.boolean(),
  over_estimate: z.boolean(),
  /** Spend above the reservation, recorded as it happened; the budget counters take all of it. */
  overrun_usd: z.number(),
});
export type SettleResult = z.infer<typeof SettleResult>;

export const SPEND_GROUPS = ["agent", "tool", "run", "day"] as const;
export const SpendQuery = z.strictObject({
  /** Comma-separated subset of agent,tool,run,day; empty for one grand total. */
  group_by: z
    .string()
    .optional()
    .transform((s, ctx) => {
      const parts = (s ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
      for (const p of parts) {
        if (!(SPEND_GROUPS as readonly string[]).includes(p)) {
          ctx.addIssue({ code: "custom", message: `group_by: ${p} is not one of ${SPEND_GROUPS.join(", ")}` });
          return z.NEVER;
        }
      }
      return [...new Set(parts)] as (typeof SPEND_GROUPS)[number][];
    }),
  agent: AgentSlug.optional(),
  tool: ToolName.optional(),
  run_id: z.uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  tz: z.string().max(64).refine(isTimeZone, "unknown time zone").default("UTC"),
});
export type SpendQuery = z.input<typeof SpendQuery>;

export const SpendRow = z.object({
  agent_slug: z.string().optional(),
  tool_name: z.string().optional(),
  run_id: z.string().nullable().optional(),
  day: z.string().optional(),
  total_usd: z.number(),
  calls: z.number().int(),
});
export type SpendRow = z.infer<typeof SpendRow>;

/** A settle that cost more than its check reserved (same filters as the totals). */
export const OverrunRow = z.object({
  ledger_id: z.uuid(),
  reservation_id: z.uuid().nullable(),
  agent_slug: z.string(),
  tool_name: z.string(),
  run_id: z.string().nullable(),
  estimated_usd: z.number().nullable(),
  reserved_usd: z.number(),
  cost_usd: z.number(),
  overrun_usd: z.number(),
  settled_at: z.string(),
});
export type OverrunRow = z.infer<typeof OverrunRow>;

export const APPROVAL_STATUSES = ["pending", "approved", "denied", "consumed"] as const;
export const ApprovalQuery = z.strictObject({
  status: z.enum(APPROVAL_STATUSES).optional(),
  run_id: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type ApprovalQuery = z.input<typeof ApprovalQuery>;

export const Approval = z.object({
  id: z.uuid(),
  policy_id: z.uuid().nullable(),
  run_id: z.uuid().nullable(),
  agent_slug: z.string(),
  tool_name: z.string(),
  action_type: z.string(),
  args_hash: z.string().nullable(),
  status: z.enum(APPROVAL_STATUSES),
  requested_at: z.string(),
  /** Who decided, from the token ("operator:<sub> <email>", "service_role"). */
  decided_by: z.string().nullable(),
  /** The name the request gave for the decider, kept beside decided_by. */
  decided_label: z.string().nullable(),
  decided_at: z.string().nullable(),
  note: z.string().nullable(),
  consumed_at: z.string().nullable(),
});
export type Approval = z.infer<typeof Approval>;

export const ApprovalDecisionRequest = z.strictObject({
  /** A label for who decides ("ana, on call"); the identity recorded is the token's. */
  decided_by: z.string().trim().min(1).max(200).optional(),
  note: z.string().max(2000).optional(),
});
export type ApprovalDecisionRequest = z.infer<typeof ApprovalDecisionRequest>;
