// The critic's judge outside a job (the memory gate's critic on its platform queue, POST
// /critic/review): every answer is a policy-checked call of model:<id> by the platform agent
// actp-critic, reserved at its worst case and settled at its usage, as ctx.llm does in a job. So a
// budget (global, or scoped to agent:actp-critic) bounds what the critic spends, and its spend is
// in the ledger beside every agent's.
import type { Queryable } from "../db/types.ts";
import { modelToolName } from "../circuits/schema.ts";
import { ActpError } from "../errors.ts";
import { estimateInputTokens, usageCostUsd, worstCaseCostUsd, type TokenPrices, type TokenUsage } from "../models/cost.ts";
import { meteredCall } from "../policy/metered-call.ts";
import type { JudgeModel } from "./judge.ts";

/** The agent the platform's own critic calls are checked and billed as (registered by a migration). */
export const PLATFORM_CRITIC_AGENT = "actp-critic";

/** A judge that also reports the tokens an answer used. */
export interface UsageJudge extends JudgeModel {
  askWithUsage(prompt: Parameters<JudgeModel["ask"]>[0]): Promise<{ text: string; usage: TokenUsage }>;
}

export interface MeteredJudgeOptions {
  /** The model's prices; null (unknown) reserves and settles 0, and the budget floor learns nothing. */
  prices: TokenPrices | null;
  agentSlug?: string;
  runId?: string | null;
  /** How long a call waits while a first call of an unpriced tool is in flight (cost_unknown). */
  costProbeWaitMs?: number;
}

export function meteredJudge(db: Queryable, inner: UsageJudge, opts: MeteredJudgeOptions): JudgeModel {
  const tool = modelToolName(inner.name);
  const agent = opts.agentSlug ?? PLATFORM_CRITIC_AGENT;
  return {
    name: inner.name,
    ask(prompt) {
      const estimate = opts.prices ? worstCaseCostUsd(estimateInputTokens([prompt.system, prompt.user], 1), prompt.maxTokens, opts.prices) : 0;
      return meteredCall(
        db,
        { agent_slug: agent, tool_name: tool, action_type: "llm_call", run_id: opts.runId ?? null, estimated_cost_usd: estimate },
        async (charge) => {
          const { text, usage } = await inner.askWithUsage(prompt);
          // A failed request is not billed by Anthropic: nothing charged, the reservation released.
          if (opts.prices) charge(usageCostUsd(usage, opts.prices));
          return text;
        },
        {
          ...(opts.costProbeWaitMs === undefined ? {} : { costProbeWaitMs: opts.costProbeWaitMs }),
          denied: (d) =>
            new ActpError("tool.denied", `the policy service denied ${tool} for ${agent}: ${d.reason}`, {
              details: { tool, agent_slug: agent, reason: d.reason, retry_after: d.retry_after, policy_id: d.policy_id },
            }),
        },
      );
    },
  };
}
