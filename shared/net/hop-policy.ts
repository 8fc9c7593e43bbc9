// The policy service's allowlist verdict for each hop of a guarded fetch (actp_policy_url_check,
// migrations/20261203204001_net_guard_policy.sql): the same matcher as the call's policy check,
// asked again for every redirect target.
import type { Queryable } from "../db/types.ts";
import { fromPgError } from "../errors.ts";
import type { CanonicalUrl } from "./allowlist.ts";
import type { HopPolicy, HopVerdict } from "./guard.ts";

type Row = { allowed: true; exact: boolean } | { allowed: false; reason: string; message: string; policy_id: string | null };

export function sqlHopPolicy(db: Queryable, agentSlug: string, toolName: string): HopPolicy {
  return {
    async check(url: CanonicalUrl): Promise<HopVerdict> {
      try {
        const { rows } = await db.query<{ v: Row }>(`select public.actp_policy_url_check($1::text, $2::text, $3::text) as v`, [agentSlug, toolName, url.href]);
        const v = rows[0]!.v;
        return v.allowed ? { allowed: true, exact: v.exact } : { allowed: false, reason: v.reason, message: v.message, policy_id: v.policy_id };
      } catch (err) {
        throw fromPgError(err) ?? err;
      }
    },
  };
}
