// The guardrails' statements (pg-boss plans.ts style): a tool or model call is two round trips.
//   begin: the policy check (PRD §4.2: budget reservation, rate limit, allowlist, approvals) and,
//          in the same statement, the call's first event: tool.call_started when it may go ahead,
//          tool.call_failed when it is denied.
//   end:   the settle and the call's last event (tool.call_completed / tool.call_failed).
// Events are validated against the registry here, before anything is sent, as emit() does; the
// SQL functions (migrations/20261124000024_tool_calls.sql) write them as given.
import type { Queryable } from "../../../shared/db/types.ts";
import { badRequest, fromPgError, parseWith } from "../../../shared/errors.ts";
import { emit, validateEvents } from "../../../shared/events/emit.ts";
import type { EventInput, ValidEvent } from "../../../shared/events/registry.ts";
import { canonicalizeUrl } from "../../../shared/net/allowlist.ts";
import type { CircuitState } from "../../../shared/circuits/index.ts";
import {
  PolicyCheckRequest,
  SettleRequest,
  type PolicyDenied,
  type SettleResult,
} from "../../../shared/policy/index.ts";
import type { z } from "zod";
import { deniedEvent, type DenialFacts } from "./events.ts";

export type BeginResult =
  | { allowed: true; reservation_id: string; expires_at: string; approval_id: string | null; started: boolean; circuit_state: CircuitState }
  | (PolicyDenied & { started: false; circuit_state: null });

async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromPgError(err) ?? err;
  }
}

const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/**
 * Validates `started` and the denial event the database would derive from it. A denial's message
 * is written by the policy check and quotes only the agent, tool, action and host; validating a
 * stand-in that carries exactly those catches what the registry would refuse (a credential-looking
 * tool name, say) before the call rather than after it.
 */
function validateBeginEvents(started: EventInput, r: z.output<typeof PolicyCheckRequest>, host: string | null): ValidEvent {
  const standIn: DenialFacts = {
    reason: "approval_required",
    message: [r.agent_slug, r.tool_name, r.action_type, host].filter((s) => s !== null).join(" "),
    retry_after: 0,
    policy_id: NIL_UUID,
  };
  return validateEvents([started, deniedEvent(started, standIn)])[0]!;
}

/**
 * May this call go ahead? One round trip: actp_tool_call_begin checks the policy and writes
 * `started` (allowed, breaker closed) or the denial's tool.call_failed (denied). `started: false`
 * on an allowed call means the tool's breaker is not closed: the caller asks the breaker and
 * writes tool.call_started itself if the call proceeds. An unparsable target URL is a denial
 * written without asking the policy service. Malformed input throws ActpError (400), writing nothing.
 */
export async function beginToolCall(db: Queryable, req: PolicyCheckRequest, started: EventInput): Promise<BeginResult> {
  const r = parseWith(PolicyCheckRequest, req, "policy.invalid_check");
  let target: string | null = null;
  let host: string | null = null;
  const url = r.target_url == null ? null : canonicalizeUrl(r.target_url);
  if (url?.ok) {
    target = url.href;
    host = url.host;
  }
  const event = validateBeginEvents(started, r, host);
  if (url && !url.ok) {
    const denial: PolicyDenied = { allowed: false, reason: "invalid_url", message: url.message, retry_after: null, policy_id: null };
    await emit(db, deniedEvent(event, denial));
    return { ...denial, started: false, circuit_state: null };
  }
  const { rows } = await run(() =>
    db.query<{ d: BeginResult }>(
      `select public.actp_tool_call_begin($1::text, $2::text, $3::text, $4::uuid, $5::numeric, $6::text, $7::text, $8::jsonb) as d`,
      [r.agent_slug, r.tool_name, r.action_type, r.run_id ?? null, String(r.estimated_cost_usd), target, r.args_hash ?? null, JSON.stringify(event)],
    ),
  );
  return rows[0]!.d;
}

/**
 * Settles the reservation at the actual cost and writes the call's closing event, in one round
 * trip and one transaction. Unknown reservation: policy.reservation.not_found (404); already
 * settled: policy.reservation.conflict (409); nothing is written in either case.
 */
export async function endToolCall(db: Queryable, reservationId: string, actualCostUsd: number, closing: EventInput): Promise<SettleResult> {
  const s = parseWith(SettleRequest, { reservation_id: reservationId, actual_cost_usd: actualCostUsd }, "policy.invalid_settle");
  const event = validateEvents([closing])[0]!;
  const { rows } = await run(() =>
    db.query<{ r: SettleResult }>(`select public.actp_tool_call_end($1::uuid, $2::numeric, $3::jsonb) as r`, [
      s.reservation_id,
      String(s.actual_cost_usd),
      JSON.stringify(event),
    ]),
  );
  return rows[0]!.r;
}

/** What ctx.tool and ctx.llm rely on, so tests can watch the statements go by. */
export interface PolicyPort {
  begin: typeof beginToolCall;
  end: typeof endToolCall;
}

export const sharedPolicy: PolicyPort = { begin: beginToolCall, end: endToolCall };
