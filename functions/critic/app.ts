// critic: the critic / verifier (PRD §4.16) over HTTPS. POST /review checks a claim or plan against
// its evidence (inline, or actp_research_evidence ids) and answers { score, verdict, issues,
// confidence, checks }. Readers (service role, operators, viewers) may review: it only reads. The
// model judge runs when ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL) is set in the function's secrets.
import { createFunctionApp } from "../_shared/http.ts";
import { route } from "../_shared/routes.ts";
import { runtime } from "../_shared/runtime.ts";
import { ReviewRequest, ReviewResult } from "../../shared/critic/contracts.ts";
import { review, withResolvedEvidence } from "../../shared/critic/review.ts";
import { judgeFromEnv } from "../../shared/critic/config.ts";

export const app = createFunctionApp("critic", {
  title: "actp critic",
  description:
    "The critic / verifier: checks a claim or plan against its evidence (inline, or stored research evidence by id) with deterministic checks and, " +
    "when a model is configured, a model judge per claim; answers a score, a verdict and the issues found.",
});

route(
  app,
  {
    method: "post",
    path: "/review",
    summary: "Review a claim or plan against its evidence",
    access: "reader",
    body: ReviewRequest,
    // review() validates with the same contract after stored evidence is resolved (SDK callers too).
    validate: false,
    invalid: { body: "critic.invalid_request" },
    responses: { 200: { description: "the review", schema: ReviewResult } },
    errors: ["critic.duplicate_evidence", "critic.unknown_evidence", "critic.judge_unavailable", "tool.denied"],
  },
  async (c, { body }) => {
    const db = runtime().db;
    const judge = await judgeFromEnv(db);
    // Stored evidence is read as the caller (RLS decides what it may cite), in a short transaction;
    // the model calls run after it, holding no connection.
    const request = await db.asRole(c.get("claims"), (tx) => withResolvedEvidence(body, tx));
    return c.json(await review(request, { judge }));
  },
);
