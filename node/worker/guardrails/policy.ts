// The guardrails' view of the policy service (PRD §4.2): one check before a call (which reserves
// the estimated cost), one settle after it. A port, so the guardrails name exactly what they rely on.
import { checkPolicy, settlePolicy } from "../../../shared/policy/index.ts";

export interface PolicyPort {
  check: typeof checkPolicy;
  settle: typeof settlePolicy;
}

export const sharedPolicy: PolicyPort = { check: checkPolicy, settle: settlePolicy };
