// The critic / verifier (PRD §4.16). In-process: `critic.review(request, { db, judge })`; over HTTPS:
// `criticClient({ url, key }).review(request)`; in a job: node/worker/critic.ts's `reviewInJob(ctx, ...)`.
import { review } from "./review.ts";

export * from "./contracts.ts";
export { review, type ReviewDeps } from "./review.ts";
export { criticClient, type CriticClientOptions } from "./client.ts";
export { judgeFromEnv, criticModel, CRITIC_TASK_TYPE } from "./config.ts";
export { anthropicJudge } from "./anthropic-judge.ts";
export type { JudgeModel } from "./judge.ts";
export { claimWithCitations } from "./proposal-claim.ts";

export const critic = { review };
