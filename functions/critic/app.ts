// critic: the critic / verifier (PRD §4.16) over HTTPS. POST /review checks a claim or plan against
// its evidence (inline, or actp_research_evidence ids) and answers { score, verdict, issues,
// confidence, checks }. Readers (service role, operators, viewers) may review: it only reads. The
// model judge runs when ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL) is set in the function's secrets.
import { createFunctionApp, authenticate, requireReader, readJson } from "../_shared/http.ts";
import { runtime } from "../_shared/runtime.ts";
import { review, withResolvedEvidence } from "../../shared/critic/review.ts";
import { judgeFromEnv } from "../../shared/critic/config.ts";

export const app = createFunctionApp("critic");

app.post("/review", authenticate, requireReader, async (c) => {
  const body = await readJson(c);
  const db = runtime().db;
  const judge = await judgeFromEnv(db);
  // Stored evidence is read as the caller (RLS decides what it may cite), in a short transaction;
  // the model calls run after it, holding no connection.
  const request = await db.asRole(c.get("claims"), (tx) => withResolvedEvidence(body, tx));
  return c.json(await review(request, { judge }));
});
