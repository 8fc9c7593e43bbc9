// Which judge a deployment has: a key (ANTHROPIC_API_KEY) or a keyless base URL (a proxy, the local
// fake) turns it on; the model is ACTP_CRITIC_MODEL, else the first candidate of the model route
// for task type "critic_review" (actp_model_routes, PRD §4.3), else claude-haiku-4-5.
import type { Queryable } from "../db/types.ts";
import { env } from "../env.ts";
import type { TokenPrices } from "../models/cost.ts";
import { listRoutes, route } from "../models/sql.ts";
import { anthropicJudge } from "./anthropic-judge.ts";
import type { JudgeModel } from "./judge.ts";
import { meteredJudge } from "./metered-judge.ts";

export const CRITIC_TASK_TYPE = "critic_review";
export const DEFAULT_CRITIC_MODEL = "claude-haiku-4-5";

export async function criticModel(db: Queryable | null): Promise<string> {
  const configured = env("ACTP_CRITIC_MODEL")?.trim();
  if (configured) return configured;
  if (db) {
    try {
      const decision = await route(db, CRITIC_TASK_TYPE);
      if (decision.candidates[0]) return decision.candidates[0].model;
    } catch {
      // No route for critic_review (or routing unavailable): the default model.
    }
  }
  return DEFAULT_CRITIC_MODEL;
}

/** The model's prices from the model routes (the critic_review route's first), or null when no route names it. */
export async function criticPrices(db: Queryable, model: string): Promise<TokenPrices | null> {
  try {
    const routes = await listRoutes(db);
    const own = routes.filter((r) => r.model === model).sort((a, b) => a.priority - b.priority);
    const r = own[0];
    return r ? { input_usd_per_mtok: r.input_usd_per_mtok, output_usd_per_mtok: r.output_usd_per_mtok } : null;
  } catch {
    return null;
  }
}

/**
 * The judge this process is configured for, or null (then only deterministic checks run). With a
 * database, each answer passes the policy service as the platform agent actp-critic (metered-judge.ts).
 */
export async function judgeFromEnv(db: Queryable | null): Promise<JudgeModel | null> {
  const apiKey = env("ANTHROPIC_API_KEY")?.trim() || null;
  const baseURL = env("ANTHROPIC_BASE_URL")?.trim() || null;
  if (!apiKey && !baseURL) return null;
  const model = await criticModel(db);
  const judge = anthropicJudge({ apiKey, baseURL, model });
  return db ? meteredJudge(db, judge, { prices: await criticPrices(db, model) }) : judge;
}
