// A policy-checked call outside a job (an HTTP route, a platform queue): the same check ctx.tool
// makes (capabilities, allowlist, rate limits, budgets with their learned floor, approvals), the
// work, and a settle at what the work cost, whatever happens. A call denied cost_unknown (the
// first call of a tool nothing bounds is in flight and will teach the budget its cost) waits for
// that settle and asks again, as ctx.tool does inside an attempt.
import type { Queryable } from "../db/types.ts";
import type { PolicyCheckRequest, PolicyDenied } from "./contracts.ts";
import { checkPolicy, settlePolicy } from "./statements.ts";

/** How long a call waits on cost_unknown before its denial stands (as ctx.tool's COST_PROBE_WAIT_MS). */
export const METERED_COST_PROBE_WAIT_MS = 30_000;

export interface MeteredCallOptions {
  /** Turns a denial into the caller's error (a route's own codes, tool.denied, ...). */
  denied(decision: PolicyDenied): Error;
  costProbeWaitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `work` under a reservation. `work` reports what it cost through `charge` (nothing charged:
 * 0, which releases the reservation); the settle runs on success and failure alike.
 */
export async function meteredCall<T>(
  db: Queryable,
  request: PolicyCheckRequest,
  work: (charge: (costUsd: number) => void) => Promise<T>,
  opts: MeteredCallOptions,
): Promise<T> {
  const waitUntil = Date.now() + (opts.costProbeWaitMs ?? METERED_COST_PROBE_WAIT_MS);
  for (let round = 0; ; round++) {
    const decision = await checkPolicy(db, request);
    if (!decision.allowed) {
      if (decision.reason === "cost_unknown" && Date.now() < waitUntil) {
        await sleep(Math.min(100 * 2 ** round, 1_000, Math.max(0, waitUntil - Date.now())));
        continue;
      }
      throw opts.denied(decision);
    }
    let cost = 0;
    try {
      return await work((c) => {
        cost = c;
      });
    } finally {
      await settlePolicy(db, decision.reservation_id, cost).catch((err: unknown) => {
        console.error(`actp: settling reservation ${decision.reservation_id} (${request.tool_name}) failed: ${(err as Error).message}`);
      });
    }
  }
}
