// The critic inside a job: the judge goes through ctx.llm("critic_review", ...), so its calls pass
// the policy service (budgets, rate limits), the model's circuit breaker and the route's fallback
// chain, and appear on the job's timeline with their cost.
import { review } from "../../shared/critic/review.ts";
import { CRITIC_TASK_TYPE } from "../../shared/critic/config.ts";
import { JUDGE_ANSWER_SCHEMA, type JudgeModel } from "../../shared/critic/judge.ts";
import type { ReviewRequest, ReviewResult } from "../../shared/critic/contracts.ts";
import type { JobContext } from "./context.ts";
import { LlmNotConfiguredError } from "./guardrails/errors.ts";

export function llmJudge(ctx: Pick<JobContext, "llm">): JudgeModel {
  return {
    name: `ctx.llm(${CRITIC_TASK_TYPE})`,
    async ask({ system, user, maxTokens }) {
      const r = await ctx.llm(CRITIC_TASK_TYPE, {
        max_tokens: maxTokens,
        system,
        output_config: { format: { type: "json_schema", schema: JUDGE_ANSWER_SCHEMA } },
        messages: [{ role: "user", content: user }],
      });
      return r.text;
    },
  };
}

/** critic.review() for a job: stored evidence read with the job's database, the judge through ctx.llm when a model is configured. */
export async function reviewInJob(ctx: Pick<JobContext, "llm" | "info">, request: ReviewRequest, opts: { judge?: boolean } = {}): Promise<ReviewResult> {
  const configured = Boolean(process.env.ANTHROPIC_API_KEY?.trim() || process.env.ANTHROPIC_BASE_URL?.trim());
  const judge = opts.judge !== false && configured ? llmJudge(ctx) : null;
  try {
    return await review(request, { db: ctx.info.db, judge });
  } catch (err) {
    // A route whose every model is refused or missing: the deterministic checks still decide.
    if (err instanceof LlmNotConfiguredError) return review(request, { db: ctx.info.db, judge: null });
    throw err;
  }
}
