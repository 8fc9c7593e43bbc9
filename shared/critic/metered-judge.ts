// The critic's judge outside a job (the memory gate's critic on its platform queue, POST
// /critic/review): every answer is a policy-checked call of model:<id> by the platform agent
// actp-critic, reserved at its worst case and settled at its usage, as ctx.llm does in a job. So a
// budget (global, or scoped to agent:actp-critic) bounds what the critic spends, and its spend is
// in the ledger beside every agent's.
import type { Queryable } from "../db/types.ts";
import { modelToolName } from "../circuits/schema.ts";
import { ActpError } from "../errors.ts";
import { estimateInputTokens, usageCostUsd, worstCaseCostUsd, type TokenPrices, type TokenUsage } from "../models/cost.ts";
import { checkPolicy, settlePolicy } from "../policy/statements.ts";
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function meteredJudge(db: Queryable, inner: UsageJudge, opts: MeteredJudgeOptions): JudgeModel {
  const tool = modelToolName(inner.name);
  const agent = opts.agentSlug ?? PLATFORM_CRITIC_AGENT;
  const waitMs = opts.costProbeWaitMs ?? 30_000;
  return {
    name: inner.name,
    async ask(prompt) {
      const inputTokens = estimateInputTokens([prompt.system, prompt.user], 1);
      const estimate = opts.prices ? worstCaseCostUsd(inputTokens, prompt.maxTokens, opts.prices) : 0;
      const start = Date.now();
      let pause = 100;
      for (;;) {
        const decision = await checkPolicy(db, {
          agent_slug: agent,
          tool_name: tool,
          action_type: "llm_call",
          run_id: opts.runId ?? null,
          estimated_cost_usd: estimate,
        });
        if (!decision.allowed) {
          // A twin of an unpriced first call waits for its settle, as ctx.tool does.
          if (decision.reason === "cost_unknown" && Date.now() - start < waitMs) {
            await sleep(pause);
            pause = Math.min(1000, pause * 2);
            continue;
          }
          throw new ActpError("tool.denied", `the policy service denied ${tool} for ${agent}: ${decision.reason}`, {
            details: { tool, agent_slug: agent, reason: decision.reason, retry_after: decision.retry_after, policy_id: decision.policy_id },
          });
        }
        let cost = 0;
        try {
          const { text, usage } = await inner.askWithUsage(prompt);
          cost = opts.prices ? usageCostUsd(usage, opts.prices) : 0;
          return text;
        } finally {
          // A failed request is not billed by Anthropic: settled at 0, which releases the reservation.
          await settlePolicy(db, decision.reservation_id, cost).catch((err: unknown) => {
            console.error(`actp: critic: settling reservation ${decision.reservation_id} failed: ${(err as Error).message}`);
          });
        }
      }
    },
  };
}
